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
import ServiceKit
import ServiceLifecycle
import Signatures

/// Everything campaign-service needs, typed.
public struct CampaignServiceConfig: TokenCheckingConfiguration {
    public var host: String
    public var port: Int
    public var database: DatabaseURL
    /// Verifies `X-CareForAll-Signature` on ingested events (campaign-service's secret) and signs
    /// token-version checks (user-service's).
    public var secrets: InternalSecrets
    /// user-service's public keys.
    public var jwksURL: String
    /// user-service: token versions.
    public var userServiceURL: String
    /// notification-service, told when a campaign reaches its goal (through the outbox).
    public var notificationServiceURL: String
    public var relay: OutboxRelayConfig
    /// The chaos suite's hook between a delivery and its recording; nil in production.
    public var deliveryFaults: (any DeliveryFaults)?
    /// pledge- and payment-service, asked for their summaries by reconciliation.
    public var pledgeServiceURL: String = "http://127.0.0.1:\(ServiceRole.pledge.defaultPort)"
    public var paymentServiceURL: String = "http://127.0.0.1:\(ServiceRole.payment.defaultPort)"
    /// `RECONCILE_INTERVAL_SECONDS`: how often reconciliation runs on its own (zero: only on demand).
    public var reconcileInterval: Duration = .seconds(300)
    /// How long a difference must last to count as drift (events still on their way are not).
    public var reconcileConfirmAfter: Duration = .seconds(3)
    /// Live totals streams (`GET /campaigns/{id}/stream`).
    public var streams: StreamConfig
    /// How long `GET /campaigns/{id}` may answer from memory a campaign this process did not
    /// change: how late another replica's writes may show.
    public var readCacheMaximumAge: Duration = .seconds(1)
    public var logLevel: String

    public init(
        host: String = "127.0.0.1", port: Int = ServiceRole.campaign.defaultPort, database: DatabaseURL,
        secrets: InternalSecrets, jwksURL: String, userServiceURL: String = "http://127.0.0.1:\(ServiceRole.user.defaultPort)",
        notificationServiceURL: String = "http://127.0.0.1:\(ServiceRole.notification.defaultPort)", relay: OutboxRelayConfig = OutboxRelayConfig(),
        streams: StreamConfig = StreamConfig(), logLevel: String = "info"
    ) {
        self.host = host
        self.port = port
        self.database = database
        self.secrets = secrets
        self.jwksURL = jwksURL
        self.userServiceURL = userServiceURL
        self.notificationServiceURL = notificationServiceURL
        self.relay = relay
        self.streams = streams
        self.logLevel = logLevel
    }

    /// From the platform configuration; `database` is given by the caller (dev: a SQLite file).
    public init(_ platform: PlatformConfig, database: DatabaseURL, secrets: InternalSecrets) {
        self.init(
            host: platform.host, port: platform.port(for: .campaign), database: database, secrets: secrets,
            jwksURL: platform.resolvedJWKSURL, userServiceURL: platform.serviceURL(for: .user),
            notificationServiceURL: platform.serviceURL(for: .notification), logLevel: platform.logLevel
        )
        pledgeServiceURL = platform.serviceURL(for: .pledge)
        paymentServiceURL = platform.serviceURL(for: .payment)
        reconcileInterval = .seconds(platform.reconcileIntervalSeconds)
    }

    /// `serve campaign`: `DATABASE_URL` and the signing secrets of campaign-, pledge-, payment-,
    /// notification- and user-service are required (reconciliation asks pledge- and payment-service).
    public init(serving platform: PlatformConfig) throws {
        let database = try platform.servingDatabase(requiring: [.campaign, .pledge, .payment, .notification, .user])
        self.init(platform, database: database, secrets: platform.internalSecrets)
    }
}

public enum CampaignServiceApp {
    public static let migrations = CampaignMigrations.all

    /// Builds campaign-service with its outbox relay and scheduled reconciliation. Tokens are
    /// verified against `jwks` (user-service's JWKS over HTTP unless a test passes its own).
    public static func buildApplication(
        config: CampaignServiceConfig,
        ledgers: (any CampaignLedgers)? = nil,
        overrides: ServiceOverrides = ServiceOverrides()
    ) async throws -> some ApplicationProtocol {
        let kit = try await ServiceKit.make(.campaign, config: config, migrations: migrations, overrides: overrides)
        let metrics = kit.metrics
        let changes = CampaignChanges()
        let goals = QueueSignal()
        let relay = kit.relay(
            to: [.notificationEvents: OutboxEndpoint(.notificationEvents, at: config.notificationServiceURL, signatures: try config.secrets.scheme(for: .notification))],
            signal: goals, config: config.relay, faults: config.deliveryFaults
        )
        let reconciler = Reconciler(
            database: kit.background,
            ledgers: try ledgers ?? HTTPCampaignLedgers(
                pledgeServiceURL: config.pledgeServiceURL, pledgeSignatures: config.secrets.scheme(for: .pledge),
                paymentServiceURL: config.paymentServiceURL, paymentSignatures: config.secrets.scheme(for: .payment)
            ),
            confirmAfter: config.reconcileConfirmAfter, signal: goals, clock: kit.clock, metrics: metrics, logger: kit.logger
        )
        let router = kit.router(
            openAPI: PackageResources.openapi_json,
            verifier: try kit.verifier(config)
        )
        addRoutes(
            to: router, store: SQLCampaignStore(database: kit.database), outbox: kit.outboxRows(signal: goals), reconciler: reconciler,
            ingestor: EventIngestor(database: kit.database, clock: kit.clock, metrics: metrics, changes: changes, goals: goals), changes: changes,
            streams: config.streams, readCacheMaximumAge: config.readCacheMaximumAge, signatures: try config.secrets.scheme(for: .campaign),
            clock: kit.clock, metrics: metrics
        )
        let reconciliation = ReconciliationService(reconciler: reconciler, interval: config.reconcileInterval, logger: kit.logger)
        return kit.application(router: router, workers: [relay, reconciliation])
    }

    /// campaign-service's own routes, on a router with the shared middleware (tests build one
    /// with parts of their own).
    public static func addRoutes(
        to router: Router<AppRequestContext>, store: any CampaignStore, outbox: OutboxRows? = nil, reconciler: Reconciler? = nil, ingestor: EventIngestor,
        changes: CampaignChanges = CampaignChanges(), streams: StreamConfig = StreamConfig(), readCacheMaximumAge: Duration = .seconds(1),
        signatures: SignatureScheme, clock: any StoreClock, metrics: ServiceMetrics
    ) {
        let campaigns = router.group("campaigns")
        if let outbox { OperationsRoutes.add(to: campaigns, outbox: outbox, signatures: signatures, metrics: metrics) }
        if let reconciler { ReconciliationController(reconciler: reconciler).addRoutes(to: campaigns) }
        EventIngestionController(ingestor: ingestor, signatures: signatures, metrics: metrics).addRoutes(to: campaigns)
        PledgeableController(store: store, signatures: signatures, metrics: metrics).addRoutes(to: campaigns)
        CampaignController(
            store: store, clock: clock, changes: changes, streams: streams, cache: CampaignReadCache(changes: changes, maximumAge: readCacheMaximumAge)
        ).addRoutes(to: campaigns)
        CampaignAdminController(store: store, clock: clock, changes: changes).addRoutes(to: campaigns)
    }
}
