import Foundation
import Logging
import Persistence
import SQLKit

/// The databases every database-backed suite runs on: SQLite always, PostgreSQL when
/// `scripts/test` (or a developer) sets `CAREFORALL_TEST_POSTGRES_URL` to a server's admin URL.
public enum TestDatabase: String, Sendable, CaseIterable, CustomStringConvertible {
    case sqlite
    case postgres

    public var description: String { rawValue }

    public static let postgresAdminURL = ProcessInfo.processInfo.environment["CAREFORALL_TEST_POSTGRES_URL"]

    /// The arguments for `@Test(arguments: TestDatabase.all)`.
    public static var all: [TestDatabase] {
        postgresAdminURL == nil ? [.sqlite] : [.sqlite, .postgres]
    }

    /// Runs `body` with a fresh, empty database of this kind and removes it afterwards: a temp
    /// SQLite file, or a new PostgreSQL database on the test server.
    public func withFreshDatabase<Result: Sendable>(
        _ body: @Sendable (DatabaseURL) async throws -> Result
    ) async throws -> Result {
        switch self {
        case .sqlite:
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("careforall-tests-\(UUID().uuidString)")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            return try await body(.sqlite(path: directory.appendingPathComponent("test.sqlite").path))
        case .postgres:
            guard let admin = Self.postgresAdminURL else { throw TestDatabaseError.postgresNotConfigured }
            guard case .postgres(let host, let port, let username, let password, _) = try DatabaseURL(admin) else {
                throw TestDatabaseError.postgresNotConfigured
            }
            let name = "t_" + UUID().uuidString.lowercased().replacingOccurrences(of: "-", with: "")
            try await Self.admin(admin) { try await $0.raw("CREATE DATABASE \(unsafeRaw: name)").run() }
            TestReport.recordPostgresRun(database: name)
            do {
                let result = try await body(.postgres(host: host, port: port, username: username, password: password, database: name))
                try? await Self.admin(admin) { try await $0.raw("DROP DATABASE IF EXISTS \(unsafeRaw: name) WITH (FORCE)").run() }
                return result
            } catch {
                try? await Self.admin(admin) { try await $0.raw("DROP DATABASE IF EXISTS \(unsafeRaw: name) WITH (FORCE)").run() }
                throw error
            }
        }
    }

    /// Runs `body` on a fresh database with an open client.
    public func withFreshClient<Result: Sendable>(
        _ body: @escaping @Sendable (any DatabaseClient) async throws -> Result
    ) async throws -> Result {
        try await withFreshDatabase { url in
            try await Databases.withClient(url, logger: TestLogging.logger) { client in
                try await body(client)
            }
        }
    }

    private static func admin(_ url: String, _ body: @escaping @Sendable (any SQLDatabase) async throws -> Void) async throws {
        try await Databases.withClient(try DatabaseURL(url), logger: TestLogging.logger, maxConnections: 1) { client in
            try await client.withConnection(body)
        }
    }
}

public enum TestDatabaseError: Error {
    case postgresNotConfigured
}

/// Lets `scripts/test` prove the PostgreSQL suites ran: each fresh PostgreSQL database a test
/// creates is one line in `CAREFORALL_TEST_REPORT`.
public enum TestReport {
    static func recordPostgresRun(database: String) {
        guard let path = ProcessInfo.processInfo.environment["CAREFORALL_TEST_REPORT"] else { return }
        let descriptor = open(path, O_WRONLY | O_APPEND | O_CREAT, 0o644)
        guard descriptor >= 0 else { return }
        defer { close(descriptor) }
        let line = Array("postgres \(database)\n".utf8)
        _ = line.withUnsafeBytes { write(descriptor, $0.baseAddress, $0.count) }
    }
}

public enum TestLogging {
    /// Quiet by default; `CAREFORALL_TEST_LOG_LEVEL=debug` to see what the services log.
    public static var logger: Logger {
        var logger = Logger(label: "careforall.tests")
        logger.logLevel = Logger.Level(rawValue: ProcessInfo.processInfo.environment["CAREFORALL_TEST_LOG_LEVEL"] ?? "critical") ?? .critical
        return logger
    }

    public static var level: String {
        ProcessInfo.processInfo.environment["CAREFORALL_TEST_LOG_LEVEL"] ?? "critical"
    }
}
