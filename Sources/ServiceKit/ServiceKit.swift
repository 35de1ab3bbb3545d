import Auth
import Contracts
import HTTPSupport
import Hummingbird
import Logging
import Observability
import Outbox
import Persistence
import PlatformConfig
import ServiceLifecycle
import Signatures

/// The parts every CareForAll service is built from, made the same way for each: its logger, its
/// database pools and the clock its stored times follow, its migrations (the first service of its
/// group, awaited by the server and by every worker), its token verifier, its outbox relay, its
/// router with the shared middleware, and the application that runs them. A service's
/// `buildApplication` keeps only what is its own: its stores, controllers and workers.
public struct ServiceKit: Sendable {
    public let role: ServiceRole
    public let logger: Logger
    public let metrics: ServiceMetrics
    /// The requests' pool.
    public let database: any DatabaseClient
    /// Background work's pool (relays, workers): on PostgreSQL a small one of its own.
    public let background: any DatabaseClient
    /// The time stored rows are dated in: the database's, as measured (`DatabaseClockSync`).
    public let clock: any StoreClock
    public let migrations: MigrationService
    let migrator: Migrator
    let infrastructure: [any Service]

    public static func make(
        _ role: ServiceRole, database url: DatabaseURL, migrations: [any Migration], logLevel: String, metrics: ServiceMetrics,
        clock: (any StoreClock)? = nil
    ) async throws -> ServiceKit {
        let logger = LoggingSetup.logger(service: role.rawValue, level: logLevel)
        let pools = try await Databases.openPools(url, logger: logger)
        let storeClock = clock ?? pools.clock
        let migrator = Migrator(service: role.rawValue, migrations: migrations, logger: logger)
        return ServiceKit(
            role: role, logger: logger, metrics: metrics, database: pools.requests, background: pools.background, clock: storeClock,
            migrations: MigrationService(migrator: migrator, database: pools.requests, clock: storeClock), migrator: migrator,
            infrastructure: pools.services
        )
    }

    /// Checks access tokens against user-service's published keys and token versions (tests pass
    /// sources of their own).
    public func verifier(
        jwksURL: String, userServiceURL: String, userSignatures: SignatureScheme, jwks: (any JWKSSource)? = nil, versions: (any TokenVersionSource)? = nil
    ) -> TokenVerifier {
        TokenVerifier.forService(jwksURL: jwksURL, userServiceURL: userServiceURL, userSignatures: userSignatures, jwks: jwks, versions: versions, logger: logger)
    }

    /// The outbox relay, on the background pool, delivering to `endpoints`.
    public func relay(
        to endpoints: [OutboxDestination: OutboxEndpoint], signal: QueueSignal, config: OutboxRelayConfig, faults: (any DeliveryFaults)?
    ) -> OutboxRelay {
        OutboxRelay(
            database: background, transport: HTTPEventTransport(endpoints: endpoints), signal: signal, clock: clock, config: config,
            metrics: metrics, logger: logger, faults: faults
        )
    }

    /// The outbox as operators see it.
    public func outboxRows(signal: QueueSignal) -> OutboxRows {
        OutboxRows(database: database, signal: signal, clock: clock)
    }

    /// Ready once the database answers and every migration is applied.
    public var ready: ReadinessCheck {
        let (migrator, database) = (self.migrator, self.database)
        return { try await migrator.isUpToDate(database) }
    }

    /// The router with the middleware every service shares, its health, metrics and API document,
    /// and (with a verifier) access tokens read on every route.
    public func router(openAPI: [UInt8]?, verifier: TokenVerifier?) -> Router<AppRequestContext> {
        let router = ServiceRouter.make(service: role.serviceName, version: role.version, metrics: metrics, openAPI: openAPI, ready: ready)
        if let verifier { router.add(middleware: AuthMiddleware(verifier: verifier)) }
        return router
    }

    /// The service as one application: the database pools and clock, the migrations, then
    /// `workers` and the server once the migrations are done (and `beforeServing` has run).
    public func application(
        router: Router<AppRequestContext>, host: String, port: Int, workers: [any Service] = [],
        beforeServing: @escaping @Sendable () async throws -> Void = {}
    ) -> some ApplicationProtocol {
        let done = migrations.done
        var app = Application(
            router: router,
            server: .careForAll,
            configuration: .init(address: .hostname(host, port: port), serverName: "careforall-\(role.rawValue)"),
            services: [migrations] + infrastructure + workers.map { AfterMigrations($0, done: done) },
            logger: logger
        )
        app.beforeServerStarts {
            try await done.wait()
            try await beforeServing()
        }
        return app
    }
}
