import Foundation
import Logging
import SQLKit
import SQLiteKit
import SQLiteNIO
import ServiceLifecycle

/// SQLite through one connection. SQLite allows one writer at a time, so every unit of work takes
/// the connection in turn; that keeps transactions from interleaving and costs nothing at the
/// volumes a local run or a test sees. PostgreSQL is the production database.
public final class SQLiteDatabaseClient: DatabaseClient {
    public let kind = DatabaseKind.sqlite
    let connection: SQLiteConnection
    let lock = AsyncSemaphore()
    let logger: Logger

    init(connection: SQLiteConnection, logger: Logger) {
        self.connection = connection
        self.logger = logger
    }

    public static func open(path: String, logger: Logger) async throws -> SQLiteDatabaseClient {
        if path != ":memory:" { try makePrivate(path) }
        let storage: SQLiteConnection.Storage = path == ":memory:" ? .memory : .file(path: path)
        let connection = try await SQLiteConnection.open(storage: storage, logger: logger)
        let client = SQLiteDatabaseClient(connection: connection, logger: logger)
        let db = client.sql()
        // WAL lets readers in other processes (sqlite3 shell, backups) see a consistent file.
        _ = try await db.raw("PRAGMA journal_mode = WAL").all()
        // With WAL, NORMAL syncs at checkpoints rather than every commit: the file can never be
        // corrupted, though a power cut may lose the last commits. SQLite is the local-run database.
        try await db.raw("PRAGMA synchronous = NORMAL").run()
        try await db.raw("PRAGMA foreign_keys = ON").run()
        try await db.raw("PRAGMA busy_timeout = 5000").run()
        return client
    }

    /// The database file readable by its owner only (0600), made so before SQLite opens it:
    /// SQLite gives its `-wal` and `-shm` files the database file's permissions. An existing file
    /// (from before this rule) is tightened too.
    static func makePrivate(_ path: String) throws {
        if FileManager.default.fileExists(atPath: path) {
            try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path)
            for suffix in ["-wal", "-shm"] where FileManager.default.fileExists(atPath: path + suffix) {
                try FileManager.default.setAttributes([.posixPermissions: 0o600], ofItemAtPath: path + suffix)
            }
        } else {
            guard FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600]) else {
                throw CocoaError(.fileWriteNoPermission)
            }
        }
    }

    func sql() -> any SQLDatabase {
        connection.sql(queryLogLevel: .trace)
    }

    public func withConnection<Result: Sendable>(
        _ body: @escaping @Sendable (any SQLDatabase) async throws -> Result
    ) async throws -> Result {
        try await lock.withPermit {
            try await body(self.sql())
        }
    }

    public func transaction<Result: Sendable>(
        _ body: @escaping @Sendable (any SQLDatabase) async throws -> Result
    ) async throws -> Result {
        try await lock.withPermit {
            // IMMEDIATE takes the write lock up front, so a transaction never fails half way to upgrade.
            try await self.sql().inTransaction(begin: "BEGIN IMMEDIATE", body)
        }
    }

    public func run() async throws {
        // Nothing to drive; keep the file open until shutdown, then close it.
        try? await gracefulShutdown()
        // The future-based close, because the async one gives up in a cancelled task and would
        // leave the file open.
        try await connection.close().get()
    }
}
