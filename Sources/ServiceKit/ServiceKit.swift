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

/// What every service's configuration has: where it listens, its database, its secrets and its
/// log level. Each service's config type adds its own settings.
public protocol ServiceConfiguration: Sendable {
    var host: String { get }
    var port: Int { get }
    var database: DatabaseURL { get }
    var secrets: InternalSecrets { get }
    var logLevel: String { get }
}

/// A service that checks the access tokens user-service issues: its public keys and its token
/// versions, asked over signed calls.
public protocol TokenCheckingConfiguration: ServiceConfiguration {
    var jwksURL: String { get }
    var userServiceURL: String { get }
}

extension PlatformConfig {
    /// `serve <role>`: the database URL, with the signing secrets of `secrets` present (a
    /// service signs or checks calls with each of them).
    public func servingDatabase(requiring secrets: [ServiceRole]) throws -> DatabaseURL {
        guard let databaseURL else { throw ConfigError.missing(key: "database.url") }
        try internalSecrets.require(secrets)
        return try DatabaseURL(databaseURL)
    }
}

/// What a test gives a service in place of the real thing: user-service's keys and token
/// versions (instead of asking it over HTTP), the clock stored times follow (instead of the
/// database's), the metrics registry it records in. A running platform passes none of them.
public struct ServiceOverrides: Sendable {
    public var jwks: (any JWKSSource)?
    public var tokenVersions: (any TokenVersionSource)?
    public var clock: (any StoreClock)?
    public var metrics: ServiceMetrics

    public init(
        jwks: (any JWKSSource)? = nil, tokenVersions: (any TokenVersionSource)? = nil, clock: (any StoreClock)? = nil,
        metrics: ServiceMetrics = ServiceMetrics()
    ) {
        self.jwks = jwks
        self.tokenVersions = tokenVersions
        self.clock = clock
        self.metrics = metrics
    }
}

/// The parts every CareForAll service is built from, made the same way for each: its logger, its
/// database pools and the clock its stored times follow, its migrations (the first service of its
/// group, awaited by the server and by every worker), its token verifier, its outbox relay, its
/// router with the shared middleware, and the application that runs them. A service's
/// `buildApplication` keeps only what is its own: its stores, controllers and workers.
public struct ServiceKit: Sendable {
    public let role: ServiceRole
    public let config: any ServiceConfiguration
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
    let overrides: ServiceOverrides

    public static func make(
        _ role: ServiceRole, config: any ServiceConfiguration, migrations: [any Migration], overrides: ServiceOverrides
    ) async throws -> ServiceKit {
        let logger = LoggingSetup.logger(service: role.rawValue, level: config.logLevel)
        let pools = try await Databases.openPools(config.database, logger: logger)
        let storeClock = overrides.clock ?? pools.clock
        let migrator = Migrator(service: role.rawValue, migrations: migrations, logger: logger)
        return ServiceKit(
            role: role, config: config, logger: logger, metrics: overrides.metrics, database: pools.requests, background: pools.background, clock: storeClock,
            migrations: MigrationService(migrator: migrator, database: pools.requests, clock: storeClock), migrator: migrator,
            infrastructure: pools.services, overrides: overrides
        )
    }

    /// Checks access tokens against user-service's published keys and token versions (unless the
    /// overrides give sources of their own).
    public func verifier(_ tokens: some TokenCheckingConfiguration) throws -> TokenVerifier {
        TokenVerifier.forService(
            jwksURL: tokens.jwksURL, userServiceURL: tokens.userServiceURL, userSignatures: try tokens.secrets.scheme(for: .user),
            jwks: overrides.jwks, versions: overrides.tokenVersions, logger: logger
        )
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
        router: Router<AppRequestContext>, workers: [any Service] = [], beforeServing: @escaping @Sendable () async throws -> Void = {}
    ) -> some ApplicationProtocol {
        let done = migrations.done
        var app = Application(
            router: router,
            server: .careForAll,
            configuration: .init(address: .hostname(config.host, port: config.port), serverName: "careforall-\(role.rawValue)"),
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
