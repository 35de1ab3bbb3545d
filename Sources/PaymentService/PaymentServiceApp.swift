import Auth
import Foundation
import HTTPSupport
import Hummingbird
import Logging
import Observability
import Outbox
import Persistence
import PlatformConfig
import ServiceClient
import ServiceLifecycle
import Signatures

/// Everything payment-service needs, typed.
public struct PaymentServiceConfig: Sendable {
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
        relay.exitAfterDeliveries = platform.relayExitAfterDeliveries
    }

    /// `serve payment`: `DATABASE_URL`, `STRIPE_WEBHOOK_SECRET` and the signing secrets of payment-,
    /// pledge-, campaign- and user-service are required.
    public init(serving platform: PlatformConfig) throws {
        guard let databaseURL = platform.databaseURL else { throw ConfigError.missing(key: "database.url") }
        guard let webhookSecret = platform.stripeWebhookSecret else { throw ConfigError.missing(key: "stripe.webhook.secret") }
        try platform.internalSecrets.require([.payment, .pledge, .campaign, .user])
        try self.init(platform, database: try DatabaseURL(databaseURL), secrets: platform.internalSecrets, webhookSecret: webhookSecret)
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
    /// webhook sender; migrations run before the server starts. Tests pass their own key set,
    /// pledge directory, a wrapper around the provider (to count its calls) and a crash hook.
    public static func buildApplication(
        config: PaymentServiceConfig,
        jwks: (any JWKSSource)? = nil,
        tokenVersions: (any TokenVersionSource)? = nil,
        pledges: (any PledgeDirectory)? = nil,
        campaigns: (any CampaignDirectory)? = nil,
        decorateProvider: (@Sendable (any PaymentProvider) -> any PaymentProvider)? = nil,
        afterProviderCall: AfterProviderCall? = nil,
        metrics: ServiceMetrics = ServiceMetrics()
    ) async throws -> some ApplicationProtocol {
        let logger = LoggingSetup.logger(service: "payment", level: config.logLevel)
        let pools = try await Databases.openPools(config.database, logger: logger)
        let database = pools.requests
        let migrator = Migrator(service: "payment", migrations: migrations, logger: logger)
        let toPledges = try config.secrets.scheme(for: .pledge)
        let signal = OutboxSignal()
        let store = SQLPaymentStore(database: database, signal: signal)
        // The relay and the recovery service work on connections of their own.
        let backgroundDatabase = pools.background

        var background: [any Service] = pools.services
        var provider: any PaymentProvider
        switch config.provider {
        case .sandbox(let chaos, let sendsWebhooks):
            var sender: SandboxWebhookSender?
            if sendsWebhooks {
                sender = SandboxWebhookSender(url: config.ownWebhookURL, secret: config.webhookSecret, chaos: chaos, logger: logger)
                background.append(sender!)
            }
            provider = SandboxProvider(database: database, webhooks: sender)
        case .stripe(let apiKey, let apiBase):
            provider = StripeProvider(apiKey: apiKey, baseURL: apiBase)
        }
        if let decorateProvider { provider = decorateProvider(provider) }
        provider = TracedProvider(base: provider)
        let reconciler = PaymentReconciler(store: store, provider: provider, metrics: metrics, logger: logger)
        let relay = OutboxRelay(
            database: backgroundDatabase,
            transport: HTTPEventTransport(endpoints: [
                SQLPaymentStore.campaignEvents: .batch(config.eventDispatchURL, signedWith: try config.secrets.scheme(for: .campaign)),
                SQLPaymentStore.pledgeWebhook: .batch(config.pledgeServiceURL + "/pledges/webhooks/payment", signedWith: toPledges, key: "notices"),
            ]),
            signal: signal, config: config.relay, metrics: metrics, logger: logger
        )
        let recoveryStore = SQLPaymentStore(database: backgroundDatabase, signal: signal)
        let recovery = PaymentRecovery(
            store: recoveryStore, provider: provider,
            reconciler: PaymentReconciler(store: recoveryStore, provider: provider, metrics: metrics, logger: logger),
            config: config.recovery, metrics: metrics, logger: logger
        )
        background.append(MigratedService(relay, migrator: migrator, database: backgroundDatabase))
        background.append(MigratedService(recovery, migrator: migrator, database: backgroundDatabase))

        let router = buildRouter(
            store: store, provider: provider, reconciler: reconciler, outbox: OutboxRows(database: database, signal: signal),
            pledges: pledges ?? HTTPPledgeDirectory(baseURL: config.pledgeServiceURL, signatures: toPledges),
            campaigns: campaigns ?? HTTPCampaignDirectory(baseURL: config.campaignServiceURL, cacheFor: .zero),
            webhookSignatures: .stripe(secret: config.webhookSecret), signatures: try config.secrets.scheme(for: .payment),
            verifier: TokenVerifier.forService(
                jwksURL: config.jwksURL, userServiceURL: config.userServiceURL, userSignatures: try config.secrets.scheme(for: .user),
                jwks: jwks, versions: tokenVersions, logger: logger
            ),
            metrics: metrics, afterProviderCall: afterProviderCall, ready: { try await migrator.isUpToDate(database) }
        )

        var app = Application(
            router: router,
            server: .careForAll,
            configuration: .init(address: .hostname(config.host, port: config.port), serverName: "careforall-payment"),
            services: background,
            logger: logger
        )
        app.beforeServerStarts {
            try await migrator.migrate(database)
        }
        return app
    }

    /// The routes: `/payments` (pay, read, list, refund) and the provider's webhook, behind the token check.
    public static func buildRouter(
        store: any PaymentStore, provider: any PaymentProvider, reconciler: PaymentReconciler, outbox: OutboxRows, pledges: any PledgeDirectory,
        campaigns: any CampaignDirectory, webhookSignatures: SignatureScheme, signatures: SignatureScheme, verifier: TokenVerifier, metrics: ServiceMetrics,
        afterProviderCall: AfterProviderCall?, ready: @escaping ReadinessCheck
    ) -> Router<AppRequestContext> {
        let router = ServiceRouter.make(
            service: ServiceRole.payment.serviceName, version: ServiceRole.payment.version, metrics: metrics, openAPI: PackageResources.openapi_json, ready: ready
        )
        router.add(middleware: AuthMiddleware(verifier: verifier))
        let payments = router.group("payments")
        OutboxAdminController(rows: outbox).addRoutes(to: payments)
        LedgerController(
            ledger: LedgerQuery(table: "payments", pledgeColumn: "pledge_id"), outbox: outbox, destination: SQLPaymentStore.campaignEvents,
            signatures: signatures, metrics: metrics
        ).addRoutes(to: payments)
        StripeWebhookController(store: store, provider: provider, reconciler: reconciler, signatures: webhookSignatures, metrics: metrics)
            .addRoutes(to: payments)
        PaymentController(
            store: store, provider: provider, reconciler: reconciler, pledges: pledges, campaigns: campaigns, metrics: metrics,
            afterProviderCall: afterProviderCall
        ).addRoutes(to: payments)
        RefundController(store: store, provider: provider, reconciler: reconciler, metrics: metrics).addRoutes(to: payments)
        return router
    }
}
