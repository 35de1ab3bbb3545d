import Foundation
import Persistence
import SQLKit
import Testing
import TestSupport
@testable import Idempotency

private func migrated(_ client: any DatabaseClient) async throws -> IdempotencyStore {
    try await Migrator(service: "idempotency-test", migrations: [IdempotencySchema.migration], logger: TestLogging.logger).migrate(client)
    return IdempotencyStore(database: client)
}

/// The work a request does, with its response recorded in the same transaction.
private func finish(_ store: IdempotencyStore, scope: String, key: String, status: Int, body: String) async throws {
    try await store.database.transaction { db in
        try await IdempotencyStore.complete(scope: scope, key: key, status: status, body: body, on: db)
    }
}

@Suite("Idempotency keys")
struct IdempotencyStoreTests {
    @Test("first use proceeds; the same body replays the stored answer; another body is a mismatch", arguments: TestDatabase.all)
    func replayAndMismatch(database: TestDatabase) async throws {
        try await database.withFreshClient { client in
            let store = try await migrated(client)
            #expect(try await store.begin(scope: "user:1", key: "k1", requestHash: "h1") == .proceed)
            try await finish(store, scope: "user:1", key: "k1", status: 201, body: #"{"id":"p1"}"#)
            #expect(try await store.begin(scope: "user:1", key: "k1", requestHash: "h1") == .replay(status: 201, body: #"{"id":"p1"}"#))
            #expect(try await store.begin(scope: "user:1", key: "k1", requestHash: "h2") == .mismatch)
        }
    }

    @Test("keys are scoped to the caller", arguments: TestDatabase.all)
    func scoped(database: TestDatabase) async throws {
        try await database.withFreshClient { client in
            let store = try await migrated(client)
            #expect(try await store.begin(scope: "user:1", key: "same", requestHash: "h") == .proceed)
            #expect(try await store.begin(scope: "guest:a@example.org", key: "same", requestHash: "other") == .proceed)
        }
    }

    @Test("a key in flight is 409-worthy until its claim lapses; then the next attempt takes over", arguments: TestDatabase.all)
    func inFlightAndTakeover(database: TestDatabase) async throws {
        try await database.withFreshClient { client in
            let store = try await migrated(client)
            let start = Date()
            #expect(try await store.begin(scope: "s", key: "k", requestHash: "h", now: start) == .proceed)
            #expect(try await store.begin(scope: "s", key: "k", requestHash: "h", now: start.addingTimeInterval(5)) == .inFlight)
            #expect(try await store.begin(scope: "s", key: "k", requestHash: "h", now: start.addingTimeInterval(31)) == .proceed)
        }
    }

    @Test("the response is recorded with the work's transaction or not at all", arguments: TestDatabase.all)
    func atomicWithWork(database: TestDatabase) async throws {
        struct WorkFailed: Error {}
        try await database.withFreshClient { client in
            let store = try await migrated(client)
            #expect(try await store.begin(scope: "s", key: "k", requestHash: "h") == .proceed)
            await #expect(throws: WorkFailed.self) {
                try await client.transaction { db in
                    try await IdempotencyStore.complete(scope: "s", key: "k", status: 201, body: "{}", on: db)
                    throw WorkFailed()
                }
            }
            #expect(try await store.begin(scope: "s", key: "k", requestHash: "h") == .inFlight)
            try await store.release(scope: "s", key: "k")
            #expect(try await store.begin(scope: "s", key: "k", requestHash: "h") == .proceed)
        }
    }

    @Test("keys past their retention are purged and can be used afresh", arguments: TestDatabase.all)
    func purge(database: TestDatabase) async throws {
        try await database.withFreshClient { client in
            let store = try await migrated(client)
            let start = Date()
            #expect(try await store.begin(scope: "s", key: "old", requestHash: "h", now: start) == .proceed)
            try await finish(store, scope: "s", key: "old", status: 201, body: "{}")
            #expect(try await store.begin(scope: "s", key: "new", requestHash: "h", now: start.addingTimeInterval(23 * 3600)) == .proceed)
            try await finish(store, scope: "s", key: "new", status: 201, body: "{}")
            #expect(try await store.purgeExpired(now: start.addingTimeInterval(24 * 3600 + 1)) == 1)
            #expect(try await store.begin(scope: "s", key: "old", requestHash: "other", now: start.addingTimeInterval(24 * 3600 + 2)) == .proceed)
            #expect(try await store.begin(scope: "s", key: "new", requestHash: "other", now: start.addingTimeInterval(24 * 3600 + 3)) == .mismatch)
        }
    }

    @Test("50 concurrent requests with one key: exactly one proceeds", arguments: TestDatabase.all)
    func concurrent(database: TestDatabase) async throws {
        try await database.withFreshDatabase { url in
            try await Databases.withClient(url, logger: TestLogging.logger, maxConnections: 10) { client in
                let store = try await migrated(client)
                let decisions = try await withThrowingTaskGroup(of: IdempotencyDecision.self) { group in
                    for _ in 0..<50 {
                        group.addTask {
                            let decision = try await store.begin(scope: "user:1", key: "race", requestHash: "h")
                            if decision == .proceed {
                                try await finish(store, scope: "user:1", key: "race", status: 201, body: #"{"id":"only"}"#)
                            }
                            return decision
                        }
                    }
                    return try await group.reduce(into: [IdempotencyDecision]()) { $0.append($1) }
                }
                #expect(decisions.filter { $0 == .proceed }.count == 1)
                #expect(decisions.allSatisfy { $0 == .proceed || $0 == .inFlight || $0 == .replay(status: 201, body: #"{"id":"only"}"#) })
            }
        }
    }

    @Test("keys are 1 to 255 printable characters; fingerprints ignore JSON key order")
    func keysAndFingerprints() {
        #expect(IdempotencyKey.isValid("a"))
        #expect(IdempotencyKey.isValid(String(repeating: "k", count: 255)))
        #expect(!IdempotencyKey.isValid(""))
        #expect(!IdempotencyKey.isValid(String(repeating: "k", count: 256)))
        #expect(!IdempotencyKey.isValid("line\nbreak"))
        let a = IdempotencyKey.fingerprint(of: Data(#"{"amount": 2500, "currency": "USD"}"#.utf8))
        let b = IdempotencyKey.fingerprint(of: Data(#"{"currency":"USD","amount":2500}"#.utf8))
        let c = IdempotencyKey.fingerprint(of: Data(#"{"currency":"USD","amount":2501}"#.utf8))
        #expect(a == b)
        #expect(a != c)
        #expect(a.count == 64)
    }
}
