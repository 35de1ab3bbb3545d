import Logging
import NIOCore
import PostgresKit
import PostgresNIO
import SQLKit
import ServiceLifecycle

/// PostgreSQL through PostgresNIO's pooled `PostgresClient`.
public struct PostgresDatabaseClient: DatabaseClient {
    public let kind = DatabaseKind.postgres
    let client: PostgresClient
    let logger: Logger

    public init(
        host: String, port: Int, username: String, password: String?, database: String,
        maxConnections: Int, logger: Logger
    ) {
        var configuration = PostgresClient.Configuration(
            host: host, port: port, username: username, password: password, database: database, tls: .disable
        )
        configuration.options.maximumConnections = maxConnections
        self.client = PostgresClient(configuration: configuration, backgroundLogger: logger)
        self.logger = logger
    }

    public func withConnection<Result: Sendable>(
        _ body: @escaping @Sendable (any SQLDatabase) async throws -> Result
    ) async throws -> Result {
        try await client.withConnection { connection in
            try await body(LiveConnection(connection, logger: logger))
        }
    }

    public func transaction<Result: Sendable>(
        _ body: @escaping @Sendable (any SQLDatabase) async throws -> Result
    ) async throws -> Result {
        try await client.withConnection { connection in
            try await LiveConnection(connection, logger: logger).inTransaction(begin: "BEGIN", body)
        }
    }

    public func run() async throws {
        await client.run()
    }
}

/// Thrown instead of sending a statement on a connection that is already closed (the server went
/// away, or was restarted, while the connection was leased).
public struct DatabaseConnectionClosed: Error, CustomStringConvertible {
    public var description: String { "the database connection is closed" }
}

/// A leased connection that refuses statements once it is closed. PostgresNIO (1.33) never answers
/// a statement written to a connection whose channel has been torn down, so without this check
/// the ROLLBACK after a statement failed by a server restart, or the next statement of a batch,
/// waits forever: the lease is never returned, and whatever waits on that work (a group commit,
/// a relay round) with it. Once the channel is inactive the check refuses at once; a connection
/// that closes after the check fails its statements through PostgresNIO's own state machine.
struct LiveConnection: ForwardingSQLDatabase {
    let connection: PostgresConnection
    let base: any SQLDatabase

    init(_ connection: PostgresConnection, logger: Logger) {
        self.connection = connection
        self.base = connection.sql(queryLogLevel: .trace, logger: logger)
    }

    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> ()) -> EventLoopFuture<Void> {
        guard !connection.isClosed else { return eventLoop.makeFailedFuture(DatabaseConnectionClosed()) }
        return base.execute(sql: query, onRow)
    }

    /// Through PostgresNIO's callback path, which hands each batch of rows to `onRow` as it arrives
    /// and asks for the next at once, never through its async row sequence. A sequence still
    /// waiting for its reader's demand when the server closes the connection fails a precondition
    /// in PostgresNIO 1.33 (`RowStreamStateMachine`: "How can we receive a body part, after a
    /// channelReadComplete, but no read has been forwarded yet") and the whole process stops: a
    /// PostgreSQL restart under load killed campaign-service that way.
    func execute(sql query: any SQLExpression, _ onRow: @escaping @Sendable (any SQLRow) -> ()) async throws {
        try await execute(sql: query, onRow).get()
    }
}
