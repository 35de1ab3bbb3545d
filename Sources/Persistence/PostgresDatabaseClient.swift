import Logging
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
            try await body(connection.sql(queryLogLevel: .trace, logger: logger))
        }
    }

    public func transaction<Result: Sendable>(
        _ body: @escaping @Sendable (any SQLDatabase) async throws -> Result
    ) async throws -> Result {
        try await client.withConnection { connection in
            try await connection.sql(queryLogLevel: .trace, logger: logger).inTransaction(begin: "BEGIN", body)
        }
    }

    public func run() async throws {
        await client.run()
    }
}
