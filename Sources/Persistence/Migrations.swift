import Foundation
import Logging
import SQLKit

/// One forward step of a service's schema. Names are unique within a service and never change
/// once released; the history table records which have been applied.
public protocol Migration: Sendable {
    var name: String { get }
    func apply(on db: any SQLDatabase, dialect: DatabaseDialect) async throws
}

/// A migration written as SQL statements: the common subset both databases understand, and where
/// they differ, what the `DatabaseDialect` writes for each.
public struct SQLMigration: Migration {
    public let name: String
    public let statements: @Sendable (DatabaseDialect) -> [String]

    public init(name: String, statements: @escaping @Sendable (DatabaseDialect) -> [String]) {
        self.name = name
        self.statements = statements
    }

    public init(name: String, _ statements: [String]) {
        self.init(name: name, statements: { _ in statements })
    }

    public func apply(on db: any SQLDatabase, dialect: DatabaseDialect) async throws {
        for statement in statements(dialect) {
            try await db.raw(SQLQueryString(statement)).run()
        }
    }
}

/// Applies a service's migrations in order, each in its own transaction together with its
/// history row, so a crash leaves either both or neither.
public struct Migrator: Sendable {
    public let service: String
    public let migrations: [any Migration]
    let logger: Logger

    public init(service: String, migrations: [any Migration], logger: Logger) {
        self.service = service
        self.migrations = migrations
        self.logger = logger
    }

    /// Applies what is pending; returns the names applied now. Each migration's history row is
    /// dated by `clock`.
    @discardableResult
    public func migrate(_ client: any DatabaseClient, clock: any StoreClock = SystemClock()) async throws -> [String] {
        try await client.withConnection { db in
            try await db.raw("""
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    name TEXT PRIMARY KEY,
                    applied_at TEXT NOT NULL
                )
                """).run()
        }
        var applied: [String] = []
        for migration in migrations {
            let name = migration.name
            let dialect = client.dialect
            let appliedAt = clock.timestamp()
            let didApply = try await client.transaction { db in
                if dialect.kind == .postgres {
                    // Replicas starting together take turns; the lock ends with the transaction.
                    try await db.raw("SELECT pg_advisory_xact_lock(\(literal: Self.lockKey))").run()
                }
                let existing = try await db.raw("SELECT name FROM schema_migrations WHERE name = \(bind: name)").first()
                guard existing == nil else { return false }
                try await migration.apply(on: db, dialect: dialect)
                try await db.raw("""
                    INSERT INTO schema_migrations (name, applied_at) VALUES (\(bind: name), \(bind: appliedAt))
                    """).run()
                return true
            }
            if didApply {
                logger.info("migration applied", metadata: ["migration": "\(name)"])
                applied.append(name)
            }
        }
        return applied
    }

    /// True when every migration of this service is recorded as applied.
    public func isUpToDate(_ client: any DatabaseClient) async throws -> Bool {
        let names = try await client.withConnection { db in
            try await db.raw("SELECT name FROM schema_migrations").all().map { try $0.decode(column: "name", as: String.self) }
        }
        return Set(migrations.map(\.name)).isSubset(of: Set(names))
    }

    static let lockKey = 727_001
}
