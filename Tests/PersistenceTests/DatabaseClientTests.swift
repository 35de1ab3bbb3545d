import Foundation
import Synchronization
import SQLKit
import Testing
import TestSupport
@testable import Persistence

private let testMigrations: [any Migration] = [
    SQLMigration(name: "001_counters", [
        "CREATE TABLE counters (id TEXT PRIMARY KEY, value BIGINT NOT NULL)",
    ]),
    SQLMigration(name: "002_notes", [
        "CREATE TABLE notes (id TEXT PRIMARY KEY, body TEXT NOT NULL UNIQUE)",
    ]),
]

private func migrator() -> Migrator {
    Migrator(service: "test", migrations: testMigrations, logger: TestLogging.logger)
}

private func counterValue(_ client: any DatabaseClient, _ id: String) async throws -> Int64? {
    try await client.withConnection { db in
        try await db.raw("SELECT value FROM counters WHERE id = \(bind: id)").first()?.decode(column: "value", as: Int64.self)
    }
}

@Suite("The data layer on SQLite and PostgreSQL")
struct DatabaseClientTests {
    @Test("migrations apply once, in order, and are recorded", arguments: TestDatabase.all)
    func migrationsApplyOnce(database: TestDatabase) async throws {
        try await database.withFreshClient { client in
            let first = try await migrator().migrate(client)
            #expect(first == ["001_counters", "002_notes"])
            let second = try await migrator().migrate(client)
            #expect(second.isEmpty)
            #expect(try await migrator().isUpToDate(client))
            let names = try await client.withConnection { db in
                try await db.raw("SELECT name FROM schema_migrations ORDER BY name").all().map { try $0.decode(column: "name", as: String.self) }
            }
            #expect(names == ["001_counters", "002_notes"])
        }
    }

    @Test("a new migration is applied on top of the recorded ones", arguments: TestDatabase.all)
    func incremental(database: TestDatabase) async throws {
        try await database.withFreshClient { client in
            let older = Migrator(service: "test", migrations: Array(testMigrations.prefix(1)), logger: TestLogging.logger)
            let applied = try await older.migrate(client)
            #expect(applied == ["001_counters"])
            let upToDate = try await migrator().isUpToDate(client)
            #expect(upToDate == false)
            let rest = try await migrator().migrate(client)
            #expect(rest == ["002_notes"])
        }
    }

    @Test("a failing migration leaves no trace, its history row included", arguments: TestDatabase.all)
    func failingMigration(database: TestDatabase) async throws {
        try await database.withFreshClient { client in
            let broken = Migrator(service: "test", migrations: [
                SQLMigration(name: "001_half", ["CREATE TABLE half (id TEXT PRIMARY KEY)", "THIS IS NOT SQL"]),
            ], logger: TestLogging.logger)
            await #expect(throws: (any Error).self) { try await broken.migrate(client) }
            let recorded = try await client.withConnection { db in try await db.raw("SELECT name FROM schema_migrations").all().count }
            #expect(recorded == 0)
            // The table of the failed step was rolled back with it (both databases have transactional DDL).
            await #expect(throws: (any Error).self) {
                try await client.withConnection { db in try await db.raw("SELECT id FROM half").run() }
            }
        }
    }

    @Test("a transaction commits all its writes or, when it throws, none", arguments: TestDatabase.all)
    func transactionAtomicity(database: TestDatabase) async throws {
        struct Abort: Error {}
        try await database.withFreshClient { client in
            try await migrator().migrate(client)
            try await client.transaction { db in
                try await db.raw("INSERT INTO counters (id, value) VALUES ('a', 1)").run()
                try await db.raw("INSERT INTO counters (id, value) VALUES ('b', 2)").run()
            }
            await #expect(throws: Abort.self) {
                try await client.transaction { db in
                    try await db.raw("UPDATE counters SET value = 100 WHERE id = 'a'").run()
                    try await db.raw("INSERT INTO counters (id, value) VALUES ('c', 3)").run()
                    throw Abort()
                }
            }
            #expect(try await counterValue(client, "a") == 1)
            #expect(try await counterValue(client, "b") == 2)
            #expect(try await counterValue(client, "c") == nil)
        }
    }

    @Test("concurrent read-modify-write transactions lose no update", arguments: TestDatabase.all)
    func concurrentTransactions(database: TestDatabase) async throws {
        try await database.withFreshDatabase { url in
            try await Databases.withClient(url, logger: TestLogging.logger, maxConnections: 8) { client in
                try await migrator().migrate(client)
                try await client.withConnection { db in try await db.raw("INSERT INTO counters (id, value) VALUES ('n', 0)").run() }
                let kind = client.kind
                try await withThrowingTaskGroup(of: Void.self) { group in
                    for _ in 0..<40 {
                        group.addTask {
                            try await client.transaction { db in
                                // The row lock serializes writers on PostgreSQL; SQLite has one writer.
                                let lock = kind == .postgres ? " FOR UPDATE" : ""
                                let row = try await db.raw("SELECT value FROM counters WHERE id = 'n'\(unsafeRaw: lock)").first()
                                let value = try row!.decode(column: "value", as: Int64.self)
                                try await db.raw("UPDATE counters SET value = \(bind: value + 1) WHERE id = 'n'").run()
                            }
                        }
                    }
                    try await group.waitForAll()
                }
                #expect(try await counterValue(client, "n") == 40)
            }
        }
    }

    @Test("a unique constraint holds on both databases", arguments: TestDatabase.all)
    func uniqueViolation(database: TestDatabase) async throws {
        try await database.withFreshClient { client in
            try await migrator().migrate(client)
            try await client.withConnection { db in try await db.raw("INSERT INTO notes (id, body) VALUES ('1', 'same')").run() }
            await #expect(throws: (any Error).self) {
                try await client.withConnection { db in try await db.raw("INSERT INTO notes (id, body) VALUES ('2', 'same')").run() }
            }
            let rows = try await client.withConnection { db in try await db.raw("SELECT id FROM notes").all().count }
            #expect(rows == 1)
        }
    }

    @Test("a ping answers on a live database", arguments: TestDatabase.all)
    func ping(database: TestDatabase) async throws {
        try await database.withFreshClient { client in
            try await client.ping()
        }
    }

    /// PostgreSQL restarted under load left transactions waiting forever on their ROLLBACK (a
    /// statement written to a torn-down connection is never answered), and the group commits and
    /// relays behind them with them.
    @Test("a statement on a connection the server closed fails at once; the pool goes on", arguments: TestDatabase.all.filter { $0 == .postgres })
    func closedConnection(database: TestDatabase) async throws {
        try await database.withFreshClient { client in
            let outcome: Result<Void, any Error> = try await within(seconds: 20) {
                do {
                    try await client.transaction { db in
                        let pid = try #require(try await db.raw("SELECT pg_backend_pid() AS pid").first()).decode(column: "pid", as: Int32.self)
                        _ = try await client.withConnection { other in
                            try await other.raw("SELECT pg_terminate_backend(\(bind: pid)) AS done").all()
                        }
                        // Until the client has seen the connection go and torn it down.
                        try await Task.sleep(for: .milliseconds(500))
                        _ = try await db.raw("SELECT 1 AS one").all()
                    }
                    return .success(())
                } catch {
                    return .failure(error)
                }
            }
            #expect(throws: DatabaseConnectionClosed.self) { try outcome.get() }
            try await within(seconds: 20) { try await client.ping() }
        }
    }

    /// PostgresNIO 1.33's async row sequence, waiting for its consumer's demand when the server
    /// closed the connection, failed a precondition (`RowStreamStateMachine`: "How can we receive
    /// a body part, after a channelReadComplete, but no read has been forwarded yet") and stopped
    /// the whole process: chaos `postgres-restart` crashed campaign-service that way. Statements
    /// now take their rows through PostgresNIO's callback path, which asks for the next rows as
    /// soon as it has handed the last ones on.
    @Test("the server closing a connection while a large result streams to a slow reader fails that statement; the process lives", arguments: TestDatabase.all.filter { $0 == .postgres })
    func closedMidStream(database: TestDatabase) async throws {
        try await database.withFreshClient { client in
            for _ in 0..<3 {
                let outcome: Result<Int, any Error> = try await within(seconds: 60) {
                    do {
                        return .success(try await client.withConnection { db in
                            let pid = try #require(try await db.raw("SELECT pg_backend_pid() AS pid").first()).decode(column: "pid", as: Int32.self)
                            let rows = Atomic<Int>(0)
                            try await db.execute(sql: SQLRaw("SELECT g, repeat('x', 2000) AS pad FROM generate_series(1, 20000) g")) { _ in
                                if rows.add(1, ordering: .relaxed).newValue == 1 {
                                    Task { _ = try? await client.withConnection { try await $0.raw("SELECT pg_terminate_backend(\(bind: pid)) AS done").all() } }
                                }
                                usleep(200)  // a slow reader: the rows pile up behind it
                            }
                            return rows.load(ordering: .relaxed)
                        })
                    } catch {
                        return .failure(error)
                    }
                }
                if case .success(let count) = outcome {
                    #expect(count == 20000, "a statement that was not cut off returns every row")
                }
                // The pool may hand out the killed connection once more; it fails at once and is replaced.
                #expect(try await eventually { try await client.ping(); return true })
            }
        }
    }

    /// Stored times follow the database's clock (`DatabaseClock`); the server here runs on this
    /// host, so the offset read must be close to zero whatever the round trip took.
    @Test("the database clock's offset is read from the server", arguments: TestDatabase.all.filter { $0 == .postgres })
    func clockOffset(database: TestDatabase) async throws {
        try await database.withFreshClient { client in
            let sync = DatabaseClockSync(client: client, clock: DatabaseClock(), logger: TestLogging.logger)
            for _ in 0..<3 {
                let offset = try await sync.measure()
                #expect(abs(offset) < 0.5, "offset \(offset) s from a server on this host")
            }
        }
    }
}

@Suite("DATABASE_URL parsing")
struct DatabaseURLTests {
    @Test("postgres and sqlite URLs parse; the password never shows in the description")
    func parse() throws {
        let postgres = try DatabaseURL("postgres://care:s3cret@db.internal:6543/pledges")
        #expect(postgres == .postgres(host: "db.internal", port: 6543, username: "care", password: "s3cret", database: "pledges"))
        #expect(!postgres.description.contains("s3cret"))
        #expect(try DatabaseURL("postgresql://u@h/d") == .postgres(host: "h", port: 5432, username: "u", password: nil, database: "d"))
        #expect(try DatabaseURL("sqlite:///var/lib/careforall/user.sqlite") == .sqlite(path: "/var/lib/careforall/user.sqlite"))
    }

    @Test("anything else is refused", arguments: ["mysql://u@h/d", "postgres://h", "postgres:///d", "sqlite://", "nonsense"])
    func invalid(url: String) {
        #expect(throws: DatabaseURLError.self) { try DatabaseURL(url) }
    }
}

@Suite("The async semaphore")
struct AsyncSemaphoreTests {
    @Test("never more holders than permits, and every waiter gets its turn", arguments: [1, 3])
    func bounded(permits: Int) async throws {
        let semaphore = AsyncSemaphore(permits: permits)
        let counter = Counter()
        try await withThrowingTaskGroup(of: Void.self) { group in
            for _ in 0..<100 {
                group.addTask {
                    try await semaphore.withPermit {
                        let inside = await counter.enter()
                        #expect(inside <= permits)
                        try await Task.sleep(for: .milliseconds(1))
                        await counter.leave()
                    }
                }
            }
            try await group.waitForAll()
        }
        #expect(await counter.total == 100)
        #expect(await counter.most == permits)
    }

    @Test("waiting until all permits are free returns only after the last holder releases")
    func allFree() async throws {
        let semaphore = AsyncSemaphore(permits: 3)
        await semaphore.acquire()
        await semaphore.acquire()
        let returned = Flag()
        try await withThrowingTaskGroup(of: Void.self) { group in
            group.addTask {
                await semaphore.waitUntilAllFree()
                await returned.set()
            }
            try await Task.sleep(for: .milliseconds(50))
            semaphore.release()
            try await Task.sleep(for: .milliseconds(50))
            #expect(await returned.value == false, "one holder is left")
            semaphore.release()
            try await group.waitForAll()
        }
        #expect(await returned.value)
        // And every permit is free again afterwards.
        for _ in 0..<3 { await semaphore.acquire() }
    }

    actor Flag {
        var value = false
        func set() { value = true }
    }

    actor Counter {
        var current = 0
        var total = 0
        var most = 0
        func enter() -> Int {
            current += 1
            total += 1
            most = max(most, current)
            return current
        }
        func leave() { current -= 1 }
    }
}

@Suite("The test setup itself")
struct TestSetupTests {
    @Test("PostgreSQL is configured whenever the test script requires it")
    func postgresRequired() {
        if ProcessInfo.processInfo.environment["CAREFORALL_REQUIRE_POSTGRES"] == "1" {
            #expect(TestDatabase.postgresAdminURL != nil, "scripts/test must set CAREFORALL_TEST_POSTGRES_URL")
            #expect(TestDatabase.all.contains(.postgres))
        }
    }
}
