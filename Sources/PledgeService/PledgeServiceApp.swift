import Auth
import Foundation
import HTTPSupport
import Hummingbird
import Idempotency
import Logging
import Observability
import Outbox
import Persistence
import PlatformConfig
import ServiceLifecycle
import ServiceClient
import Signatures

/// Everything pledge-service needs, typed.
public struct PledgeServiceConfig: Sendable {
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
    /// The largest pledge accepted, in minor units.
    public var maximumMajorUnits: Int64
    public var relay: OutboxRelayConfig
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
        relay.exitAfterDeliveries = platform.relayExitAfterDeliveries
    }

    /// `serve pledge`: `DATABASE_URL` and the signing secrets of pledge-, campaign-, notification-
    /// and user-service are required.
    public init(serving platform: PlatformConfig) throws {
        guard let databaseURL = platform.databaseURL else { throw ConfigError.missing(key: "database.url") }
        try platform.internalSecrets.require([.pledge, .campaign, .notification, .user])
        self.init(platform, database: try DatabaseURL(databaseURL), secrets: platform.internalSecrets)
    }
}

public enum PledgeServiceApp {
    public static let migrations = PledgeMigrations.all

    /// Builds pledge-service with its outbox relay and idempotency purger; migrations run before
    /// the server starts. Tests pass their own key set and campaign directory.
    public static func buildApplication(
        config: PledgeServiceConfig,
        jwks: (any JWKSSource)? = nil,
        tokenVersions: (any TokenVersionSource)? = nil,
        campaigns: (any CampaignDirectory)? = nil,
        metrics: ServiceMetrics = ServiceMetrics()
    ) async throws -> some ApplicationProtocol {
        let logger = LoggingSetup.logger(service: "pledge", level: config.logLevel)
        let pools = try await Databases.openPools(config.database, logger: logger)
        let database = pools.requests
        let migrator = Migrator(service: "pledge", migrations: migrations, logger: logger)
        let signal = OutboxSignal()
        let receiptTokens = ReceiptTokens(secret: config.secrets.secrets(for: .pledge).first ?? "")
        let store = SQLPledgeStore(
            database: database, signal: signal, notices: DonationNotices(publicBaseURL: config.publicBaseURL, receiptTokens: receiptTokens)
        )
        let idempotency = IdempotencyStore(database: database)
        let background = pools.background
        let relay = OutboxRelay(
            database: background,
            transport: HTTPEventTransport(endpoints: [
                SQLPledgeStore.eventDestination: .batch(config.eventDispatchURL, signedWith: try config.secrets.scheme(for: .campaign)),
                DonationNotices.destination: .batch(
                    config.notificationServiceURL + "/notifications/events", signedWith: try config.secrets.scheme(for: .notification)
                ),
            ]),
            signal: signal, config: config.relay, metrics: metrics, logger: logger
        )
        let router = buildRouter(
            store: store, idempotency: idempotency, outbox: OutboxRows(database: database, signal: signal),
            campaigns: try campaigns ?? HTTPCampaignDirectory(baseURL: config.campaignServiceURL, signatures: config.secrets.scheme(for: .campaign)),
            signatures: try config.secrets.scheme(for: .pledge),
            verifier: TokenVerifier.forService(
                jwksURL: config.jwksURL, userServiceURL: config.userServiceURL, userSignatures: try config.secrets.scheme(for: .user),
                jwks: jwks, versions: tokenVersions, logger: logger
            ),
            metrics: metrics, maximumMajorUnits: config.maximumMajorUnits, receiptTokens: receiptTokens,
            ready: { try await migrator.isUpToDate(database) }
        )
        var app = Application(
            router: router,
            server: .careForAll,
            configuration: .init(address: .hostname(config.host, port: config.port), serverName: "careforall-pledge"),
            services: pools.services + [
                MigratedService(relay, migrator: migrator, database: background),
                MigratedService(IdempotencyPurger(store: IdempotencyStore(database: background), logger: logger), migrator: migrator, database: background),
            ],
            logger: logger
        )
        app.beforeServerStarts {
            try await migrator.migrate(database)
        }
        return app
    }

    public static func buildRouter(
        store: any PledgeStore, idempotency: IdempotencyStore, outbox: OutboxRows, campaigns: any CampaignDirectory, signatures: SignatureScheme,
        verifier: TokenVerifier, metrics: ServiceMetrics, maximumMajorUnits: Int64, receiptTokens: ReceiptTokens, ready: @escaping ReadinessCheck
    ) -> Router<AppRequestContext> {
        let router = ServiceRouter.make(
            service: ServiceRole.pledge.serviceName, version: ServiceRole.pledge.version, metrics: metrics, openAPI: PackageResources.openapi_json, ready: ready
        )
        router.add(middleware: AuthMiddleware(verifier: verifier))
        let pledges = router.group("pledges")
        OutboxAdminController(rows: outbox).addRoutes(to: pledges)
        LedgerController(
            ledger: LedgerQuery(table: "pledges", pledgeColumn: "id"), outbox: outbox, destination: SQLPledgeStore.eventDestination,
            signatures: signatures, metrics: metrics
        ).addRoutes(to: pledges)
        PaymentServiceCallsController(store: store, signatures: signatures, metrics: metrics).addRoutes(to: pledges)
        PledgeController(
            store: store, idempotency: idempotency, campaigns: campaigns, metrics: metrics, maximumMajorUnits: maximumMajorUnits, receiptTokens: receiptTokens
        ).addRoutes(to: pledges)
        return router
    }
}
