import Auth
import Contracts
import Foundation
import HTTPSupport
import Hummingbird
import Logging
import Observability
import Operations
import Outbox
import Persistence
import PlatformConfig
import ServiceClient
import ServiceKit
import ServiceLifecycle
import Signatures

/// Everything payment-service needs, typed.
public struct PaymentServiceConfig: TokenCheckingConfiguration {
    public enum Provider: Sendable, Equatable {
        /// Stripe test mode in the service's own database; `chaos` redelivers and reorders its
        /// webhooks. Tests turn `sendsWebhooks` off to play a provider whose webhooks are lost.
        case sandbox(chaos: Bool, sendsWebhooks: Bool = true)
        case stripe(apiKey: String, apiBase: String)
    }

    public var host: String
    public var port: Int
    public var database: DatabaseURL
    /// Signs the pledge lookup and notices (pledge-service's secret), events (campaign-service's)
    /// and token-version checks (user-service's).
    public var secrets: InternalSecrets
    public var jwksURL: String
    /// user-service: token versions.
    public var userServiceURL: String
    /// pledge-service: the pledge lookup and the payment webhook.
    public var pledgeServiceURL: String
    /// campaign-service: is the pledge's campaign still taking money.
    public var campaignServiceURL: String
    /// campaign-service's event ingestion (`EVENT_DISPATCH_URL`).
    public var eventDispatchURL: String
    public var provider: Provider
    /// `STRIPE_WEBHOOK_SECRET`: verifies `Stripe-Signature` (and signs the sandbox's webhooks).
    public var webhookSecret: String
    public var relay: OutboxRelayConfig
    /// The chaos suite's hook between a delivery and its recording; nil in production.
    public var deliveryFaults: (any DeliveryFaults)?
    public var recovery: PaymentRecoveryConfig
    public var logLevel: String

    public init(
        host: String = "127.0.0.1", port: Int = ServiceRole.payment.defaultPort, database: DatabaseURL, secrets: InternalSecrets,
        jwksURL: String, userServiceURL: String = "http://127.0.0.1:\(ServiceRole.user.defaultPort)", pledgeServiceURL: String,
        campaignServiceURL: String = "http://127.0.0.1:\(ServiceRole.campaign.defaultPort)", eventDispatchURL: String, provider: Provider = .sandbox(chaos: false),
        webhookSecret: String, relay: OutboxRelayConfig = OutboxRelayConfig(), recovery: PaymentRecoveryConfig = PaymentRecoveryConfig(),
        logLevel: String = "info"
    ) {
        self.host = host
        self.port = port
        self.database = database
        self.secrets = secrets
        self.jwksURL = jwksURL
        self.userServiceURL = userServiceURL
        self.pledgeServiceURL = pledgeServiceURL
        self.campaignServiceURL = campaignServiceURL
        self.eventDispatchURL = eventDispatchURL
        self.provider = provider
        self.webhookSecret = webhookSecret
        self.relay = relay
        self.recovery = recovery
        self.logLevel = logLevel
    }

    /// From the platform configuration; `database` and the secrets are given by the caller (dev: generated).
    public init(_ platform: PlatformConfig, database: DatabaseURL, secrets: InternalSecrets, webhookSecret: String) throws {
        let provider: Provider
        if platform.paymentProvider == "stripe" {
            guard let key = platform.stripeAPIKey else { throw ConfigError.missing(key: "stripe.api.key") }
            provider = .stripe(apiKey: key, apiBase: platform.stripeAPIBase)
        } else {
            provider = .sandbox(chaos: platform.sandboxWebhookChaos)
        }
        self.init(
            host: platform.host, port: platform.port(for: .payment), database: database, secrets: secrets,
            jwksURL: platform.resolvedJWKSURL, userServiceURL: platform.serviceURL(for: .user), pledgeServiceURL: platform.serviceURL(for: .pledge),
            campaignServiceURL: platform.serviceURL(for: .campaign),
            eventDispatchURL: platform.eventDispatchURL ?? platform.serviceURL(for: .campaign) + "/campaigns/events",
            provider: provider, webhookSecret: webhookSecret, logLevel: platform.logLevel
        )
    }

    /// `serve payment`: `DATABASE_URL`, `STRIPE_WEBHOOK_SECRET` and the signing secrets of payment-,
    /// pledge-, campaign- and user-service are required.
    public init(serving platform: PlatformConfig) throws {
        let database = try platform.servingDatabase(requiring: [.payment, .pledge, .campaign, .user])
        guard let webhookSecret = platform.stripeWebhookSecret else { throw ConfigError.missing(key: "stripe.webhook.secret") }
        try self.init(platform, database: database, secrets: platform.internalSecrets, webhookSecret: webhookSecret)
    }

    /// Where the sandbox posts its webhooks: this service's own route.
    var ownWebhookURL: String {
        let host = host == "0.0.0.0" ? "127.0.0.1" : host
        return "http://\(host):\(port)/payments/webhooks/stripe"
    }
}

public enum PaymentServiceApp {
    public static let migrations = PaymentMigrations.all

    /// Builds payment-service with its outbox relay, its recovery service and (sandbox) its
    /// webhook sender. Tests pass their own key set, pledge directory, a wrapper around the
    /// provider (to count its calls), a crash hook and a clock.
    public static func buildApplication(
        config: PaymentServiceConfig,
        pledges: (any PledgeDirectory)? = nil,
        campaigns: (any CampaignDirectory)? = nil,
        decorateProvider: (@Sendable (any PaymentProvider) -> any PaymentProvider)? = nil,
        afterProviderCall: AfterProviderCall? = nil,
        overrides: ServiceOverrides = ServiceOverrides()
    ) async throws -> some ApplicationProtocol {
        let kit = try await ServiceKit.make(.payment, config: config, migrations: migrations, overrides: overrides)
        let metrics = kit.metrics
        let toPledges = try config.secrets.scheme(for: .pledge)
        let signal = QueueSignal()
        let store = SQLPaymentStore(database: kit.database, signal: signal, clock: kit.clock)
        var workers: [any Service] = []
        var provider: any PaymentProvider
        switch config.provider {
        case .sandbox(let chaos, let sendsWebhooks):
            var sender: SandboxWebhookSender?
            if sendsWebhooks {
                sender = SandboxWebhookSender(url: config.ownWebhookURL, secret: config.webhookSecret, chaos: chaos, metrics: metrics, logger: kit.logger)
                workers.append(sender!)
            }
            provider = SandboxProvider(database: kit.database, clock: kit.clock, webhooks: sender)
        case .stripe(let apiKey, let apiBase):
            provider = StripeProvider(apiKey: apiKey, baseURL: apiBase)
        }
        if let decorateProvider { provider = decorateProvider(provider) }
        provider = TracedProvider(base: provider)
        let reconciler = PaymentReconciler(store: store, provider: provider, metrics: metrics, logger: kit.logger)
        workers.append(kit.relay(
            to: [
                .campaignEvents: OutboxEndpoint(url: config.eventDispatchURL, signatures: try config.secrets.scheme(for: .campaign)),
                .pledgeNotices: OutboxEndpoint(.pledgeNotices, at: config.pledgeServiceURL, signatures: toPledges),
            ],
            signal: signal, config: config.relay, faults: config.deliveryFaults
        ))
        // Recovery works on connections of its own.
        let recoveryStore = SQLPaymentStore(database: kit.background, signal: signal, clock: kit.clock)
        workers.append(PaymentRecovery(
            store: recoveryStore, provider: provider,
            reconciler: PaymentReconciler(store: recoveryStore, provider: provider, metrics: metrics, logger: kit.logger),
            config: config.recovery, clock: kit.clock, metrics: metrics, logger: kit.logger
        ))
        let router = kit.router(
            openAPI: PackageResources.openapi_json,
            verifier: try kit.verifier(config)
        )
        addRoutes(
            to: router, store: store, provider: provider, reconciler: reconciler, outbox: kit.outboxRows(signal: signal),
            pledges: pledges ?? HTTPPledgeDirectory(baseURL: config.pledgeServiceURL, signatures: toPledges),
            campaigns: campaigns ?? HTTPCampaignDirectory(baseURL: config.campaignServiceURL, freshness: .charges),
            webhookSignatures: .stripe(secret: config.webhookSecret), signatures: try config.secrets.scheme(for: .payment), clock: kit.clock,
            metrics: metrics, afterProviderCall: afterProviderCall
        )
        return kit.application(router: router, workers: workers)
    }

    /// payment-service's own routes: `/payments` (pay, read, list, refund), the provider's webhook
    /// and the operator routes, on a router with the shared middleware.
    public static func addRoutes(
        to router: Router<AppRequestContext>, store: any PaymentStore, provider: any PaymentProvider, reconciler: PaymentReconciler,
        outbox: OutboxRows, pledges: any PledgeDirectory, campaigns: any CampaignDirectory, webhookSignatures: SignatureScheme,
        signatures: SignatureScheme, clock: any StoreClock, metrics: ServiceMetrics, afterProviderCall: AfterProviderCall?
    ) {
        let payments = router.group("payments")
        OperationsRoutes.add(to: payments, outbox: outbox, ledger: .payments, signatures: signatures, metrics: metrics)
        ProviderWebhookController(store: store, provider: provider, reconciler: reconciler, signatures: webhookSignatures, metrics: metrics)
            .addRoutes(to: payments)
        PaymentController(
            store: store, provider: provider, reconciler: reconciler, pledges: pledges, campaigns: campaigns, clock: clock, metrics: metrics,
            afterProviderCall: afterProviderCall
        ).addRoutes(to: payments)
        RefundController(store: store, provider: provider, reconciler: reconciler, clock: clock, metrics: metrics).addRoutes(to: payments)
    }
}
