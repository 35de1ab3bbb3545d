import Logging
import NIOCore
import Observability
import Synchronization
import SQLKit
import ServiceLifecycle

/// The one small data-access layer every service uses. Stores write SQL with SQLKit's binding
/// interpolation (`\(bind: value)`), so the same statements run on PostgreSQL and SQLite.
public protocol DatabaseClient: Sendable {
    var kind: DatabaseKind { get }

    /// Runs `body` on one connection, outside any explicit transaction.
    func withConnection<Result: Sendable>(
        _ body: @escaping @Sendable (any SQLDatabase) async throws -> Result
    ) async throws -> Result

    /// Runs `body` inside one transaction: committed when it returns, rolled back when it throws.
    func transaction<Result: Sendable>(
        _ body: @escaping @Sendable (any SQLDatabase) async throws -> Result
    ) async throws -> Result

    /// Keeps the client's connections alive until graceful shutdown, then closes them.
    func run() async throws
}

/// Opens the client a `DatabaseURL` names.
public enum Databases {
    public static func open(_ url: DatabaseURL, logger: Logger, maxConnections: Int = 10) async throws -> any DatabaseClient {
        switch url {
        case .postgres(let host, let port, let username, let password, let database):
            return PostgresDatabaseClient(
                host: host, port: port, username: username, password: password, database: database,
                maxConnections: maxConnections, logger: logger
            )
        case .sqlite(let path):
            return try await SQLiteDatabaseClient.open(path: path, logger: logger)
        }
    }

    /// The requests' pool and, for background work (outbox relays, recovery, purging, mail), a
    /// pool of its own, so that work never waits behind requests for a connection, nor they
    /// behind it: a small second pool on PostgreSQL; the same client on SQLite, whose writers
    /// take turns anyway. On PostgreSQL, `DatabaseClockSync` keeps the pools' clock on the
    /// server's.
    public static func openPools(_ url: DatabaseURL, logger: Logger, backgroundConnections: Int = 3) async throws -> DatabasePools {
        let requests = try await open(url, logger: logger)
        let clock = DatabaseClock()
        guard case .postgres = url else {
            return DatabasePools(requests: requests, background: requests, clock: clock, services: [DatabaseService(client: requests)])
        }
        let background = try await open(url, logger: logger, maxConnections: backgroundConnections)
        return DatabasePools(requests: requests, background: background, clock: clock, services: [
            DatabaseService(client: requests), DatabaseService(client: background), DatabaseClockSync(client: background, clock: clock, logger: logger),
        ])
    }
}

/// A service's database clients, the clock of its stored times, and the services that keep them running.
public struct DatabasePools: Sendable {
    public let requests: any DatabaseClient
    public let background: any DatabaseClient
    public let clock: DatabaseClock
    /// Add them to the application's services.
    public let services: [any Service]
}

/// Runs a database client as part of a service group.
public struct DatabaseService: Service {
    public let client: any DatabaseClient

    public init(client: any DatabaseClient) {
        self.client = client
    }

    public func run() async throws {
        try await client.run()
    }
}

extension DatabaseClient {
    /// A cheap round trip, for readiness checks.
    public func ping() async throws {
        try await withConnection { db in
            _ = try await db.raw("SELECT 1 AS one").all()
        }
    }
}

extension Databases {
    /// Opens a client, keeps it running while `body` runs, then shuts it down: for one-off work
    /// such as `careforall migrate` and test fixtures.
    public static func withClient<Result: Sendable>(
        _ url: DatabaseURL, logger: Logger, maxConnections: Int = 4,
        _ body: @escaping @Sendable (any DatabaseClient) async throws -> Result
    ) async throws -> Result {
        let client = try await open(url, logger: logger, maxConnections: maxConnections)
        return try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask { try await client.run() }
            defer { group.cancelAll() }
            return try await body(client)
        }
    }
}

extension SQLDatabase {
    /// Runs `body` between `begin` and COMMIT on this one session; ROLLBACK when it throws. A
    /// `db.transaction` span when tracing is on, with the number of statements (never their values).
    func inTransaction<Result: Sendable>(
        begin: SQLQueryString, _ body: @Sendable (any SQLDatabase) async throws -> Result
    ) async throws -> Result {
        try await Trace.span("db.transaction") { span in
            guard span.isRecording else { return try await run(begin: begin, body) }
            span.set("db.system.name", dialect.name)
            let counting = CountingSQLDatabase(base: self)
            defer { span.set("db.statement_count", counting.statements) }
            return try await counting.run(begin: begin, body)
        }
    }

    private func run<Result: Sendable>(
        begin: SQLQueryString, _ body: @Sendable (any SQLDatabase) async throws -> Result
    ) async throws -> Result {
        try await raw(begin).run()
        let result: Result
        do {
            result = try await body(self)
        } catch {
            // A failed rollback leaves the connection unusable; the pool or the next BEGIN finds out.
            try? await raw("ROLLBACK").run()
            throw error
        }
        try await raw("COMMIT").run()
        return result
    }
}

/// A session that does something with each statement, then hands it to `base`, which answers
/// everything else.
protocol ForwardingSQLDatabase: SQLDatabase {
    var base: any SQLDatabase { get }
}

extension ForwardingSQLDatabase {
    var logger: Logger { base.logger }
    var eventLoop: any EventLoop { base.eventLoop }
    var version: (any SQLDatabaseReportedVersion)? { base.version }
    var dialect: any SQLDialect { base.dialect }
    var queryLogLevel: Logger.Level? { base.queryLogLevel }
}

/// A session that counts the statements sent through it, for a transaction's span.
final class CountingSQLDatabase: ForwardingSQLDatabase {
    let base: any SQLDatabase
    private let count = Mutex(0)

    init(base: any SQLDatabase) {
        self.base = base
    }

    var statements: Int { count.withLock { $0 } }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> ()) -> EventLoopFuture<Void> {
        count.withLock { $0 += 1 }
        return base.execute(sql: query, onRow)
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> ()) async throws {
        count.withLock { $0 += 1 }
        try await base.execute(sql: query, onRow)
    }
}
