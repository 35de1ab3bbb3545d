import Auth
import Contracts
import Foundation
import HTTPSupport
import Hummingbird
import Idempotency
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

/// Everything pledge-service needs, typed.
public struct PledgeServiceConfig: TokenCheckingConfiguration {
    public var host: String
    public var port: Int
    public var database: DatabaseURL
    /// Verifies calls to pledge-service (its own secret) and signs events to campaign-service and
    /// token-version checks to user-service (theirs).
    public var secrets: InternalSecrets
    public var jwksURL: String
    /// user-service: token versions.
    public var userServiceURL: String
    /// campaign-service, asked whether a campaign takes pledges.
    public var campaignServiceURL: String
    /// campaign-service's event ingestion (`EVENT_DISPATCH_URL`).
    public var eventDispatchURL: String
    /// notification-service, told of receipts, failed payments and refunds.
    public var notificationServiceURL: String
    /// `PUBLIC_BASE_URL`: the base of receipt links in mail.
    public var publicBaseURL: String
    /// The largest pledge accepted, in whole units of its currency.
    public var maximumMajorUnits: Int64
    public var relay: OutboxRelayConfig
    /// The chaos suite's hook between a delivery and its recording; nil in production.
    public var deliveryFaults: (any DeliveryFaults)?
    public var logLevel: String

    public init(
        host: String = "127.0.0.1", port: Int = ServiceRole.pledge.defaultPort, database: DatabaseURL, secrets: InternalSecrets,
        jwksURL: String, userServiceURL: String = "http://127.0.0.1:\(ServiceRole.user.defaultPort)", campaignServiceURL: String, eventDispatchURL: String,
        notificationServiceURL: String = "http://127.0.0.1:\(ServiceRole.notification.defaultPort)", publicBaseURL: String = "http://localhost:8080",
        maximumMajorUnits: Int64 = 1_000_000, relay: OutboxRelayConfig = OutboxRelayConfig(), logLevel: String = "info"
    ) {
        self.host = host
        self.port = port
        self.database = database
        self.secrets = secrets
        self.jwksURL = jwksURL
        self.userServiceURL = userServiceURL
        self.campaignServiceURL = campaignServiceURL
        self.eventDispatchURL = eventDispatchURL
        self.notificationServiceURL = notificationServiceURL
        self.publicBaseURL = publicBaseURL
        self.maximumMajorUnits = maximumMajorUnits
        self.relay = relay
        self.logLevel = logLevel
    }

    /// From the platform configuration; `database` is given by the caller (dev: a SQLite file).
    public init(_ platform: PlatformConfig, database: DatabaseURL, secrets: InternalSecrets) {
        let campaignURL = platform.serviceURL(for: .campaign)
        self.init(
            host: platform.host, port: platform.port(for: .pledge), database: database, secrets: secrets,
            jwksURL: platform.resolvedJWKSURL, userServiceURL: platform.serviceURL(for: .user), campaignServiceURL: campaignURL,
            eventDispatchURL: platform.eventDispatchURL ?? campaignURL + "/campaigns/events",
            notificationServiceURL: platform.serviceURL(for: .notification), publicBaseURL: platform.publicBaseURL, logLevel: platform.logLevel
        )
    }

    /// `serve pledge`: `DATABASE_URL` and the signing secrets of pledge-, campaign-, notification-
    /// and user-service are required.
    public init(serving platform: PlatformConfig) throws {
        let database = try platform.servingDatabase(requiring: [.pledge, .campaign, .notification, .user])
        self.init(platform, database: database, secrets: platform.internalSecrets)
    }
}

public enum PledgeServiceApp {
    public static let migrations = PledgeMigrations.all

    /// Builds pledge-service with its outbox relay and idempotency purger. Tests pass their own
    /// key set, campaign directory and clock.
    public static func buildApplication(
        config: PledgeServiceConfig,
        campaigns: (any CampaignDirectory)? = nil,
        overrides: ServiceOverrides = ServiceOverrides()
    ) async throws -> some ApplicationProtocol {
        let kit = try await ServiceKit.make(.pledge, config: config, migrations: migrations, overrides: overrides)
        let metrics = kit.metrics
        let signal = QueueSignal()
        let receiptTokens = ReceiptTokens(secret: config.secrets.secrets(for: .pledge).first ?? "")
        let store = SQLPledgeStore(
            database: kit.database, signal: signal, clock: kit.clock,
            notices: DonationNotices(publicBaseURL: config.publicBaseURL, receiptTokens: receiptTokens)
        )
        let relay = kit.relay(
            to: [
                .campaignEvents: OutboxEndpoint(url: config.eventDispatchURL, signatures: try config.secrets.scheme(for: .campaign)),
                .notificationEvents: OutboxEndpoint(.notificationEvents, at: config.notificationServiceURL, signatures: try config.secrets.scheme(for: .notification)),
            ],
            signal: signal, config: config.relay, faults: config.deliveryFaults
        )
        let purger = IdempotencyPurger(store: IdempotencyStore(database: kit.background, clock: kit.clock), logger: kit.logger)
        let router = kit.router(
            openAPI: PackageResources.openapi_json,
            verifier: try kit.verifier(config)
        )
        addRoutes(
            to: router, store: store, idempotency: IdempotencyStore(database: kit.database, clock: kit.clock), outbox: kit.outboxRows(signal: signal),
            campaigns: try campaigns
                ?? HTTPCampaignDirectory(baseURL: config.campaignServiceURL, freshness: .pledges, signatures: config.secrets.scheme(for: .campaign)),
            signatures: try config.secrets.scheme(for: .pledge), clock: kit.clock, metrics: metrics, maximumMajorUnits: config.maximumMajorUnits,
            receiptTokens: receiptTokens
        )
        return kit.application(router: router, workers: [relay, purger])
    }

    /// pledge-service's own routes, on a router with the shared middleware (tests build one with
    /// parts of their own).
    public static func addRoutes(
        to router: Router<AppRequestContext>, store: any PledgeStore, idempotency: IdempotencyStore, outbox: OutboxRows,
        campaigns: any CampaignDirectory, signatures: SignatureScheme, clock: any StoreClock, metrics: ServiceMetrics,
        maximumMajorUnits: Int64 = 1_000_000, receiptTokens: ReceiptTokens
    ) {
        let pledges = router.group("pledges")
        OperationsRoutes.add(to: pledges, outbox: outbox, ledger: .pledges, signatures: signatures, metrics: metrics)
        PaymentNoticeController(store: store, signatures: signatures, metrics: metrics).addRoutes(to: pledges)
        PledgeLookupController(store: store, signatures: signatures, metrics: metrics).addRoutes(to: pledges)
        PledgeController(
            store: store, idempotency: idempotency, campaigns: campaigns, metrics: metrics, clock: clock, maximumMajorUnits: maximumMajorUnits,
            receiptTokens: receiptTokens
        ).addRoutes(to: pledges)
    }
}
