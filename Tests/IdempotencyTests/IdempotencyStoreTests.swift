import Foundation
import Persistence
import SQLKit
import Testing
import TestSupport
@testable import Idempotency

private func migrated(_ client: any DatabaseClient, clock: TestClock) async throws -> IdempotencyStore {
    try await Migrator(service: "idempotency-test", migrations: [IdempotencySchema.migration], logger: TestLogging.logger).migrate(client)
    return IdempotencyStore(database: client, clock: clock)
}

/// A request's work: its key claimed with its answer in the work's own transaction.
private func claim(
    _ store: IdempotencyStore, scope: String = "s", key: String, hash: String = "h", body: String = "{}", clock: TestClock
) async throws -> IdempotencyDecision {
    try await store.database.transaction { db in
        try await IdempotencyStore.claimAll(
            [.init(scope: scope, key: key, requestHash: hash, status: 201, body: body)], now: clock.now(), on: db, dialect: store.database.dialect
        )[0]
    }
}

@Suite("Idempotency keys")
struct IdempotencyStoreTests {
    @Test("first use proceeds; the same body replays the stored answer; another body is a mismatch", arguments: TestDatabase.all)
    func replayAndMismatch(database: TestDatabase) async throws {
        try await database.withFreshClient { client in
            let clock = TestClock()
            let store = try await migrated(client, clock: clock)
            #expect(try await claim(store, scope: "user:1", key: "k1", hash: "h1", body: #"{"id":"p1"}"#, clock: clock) == .proceed)
            #expect(try await claim(store, scope: "user:1", key: "k1", hash: "h1", clock: clock) == .replay(status: 201, body: #"{"id":"p1"}"#))
            #expect(try await claim(store, scope: "user:1", key: "k1", hash: "h2", clock: clock) == .mismatch)
            #expect(try await store.lookup(scope: "user:1", key: "k1", requestHash: "h1") == .replay(status: 201, body: #"{"id":"p1"}"#))
            #expect(try await store.lookup(scope: "user:1", key: "never", requestHash: "h1") == nil)
        }
    }

    @Test("keys are scoped to the caller", arguments: TestDatabase.all)
    func scoped(database: TestDatabase) async throws {
        try await database.withFreshClient { client in
            let clock = TestClock()
            let store = try await migrated(client, clock: clock)
            #expect(try await claim(store, scope: "user:1", key: "same", clock: clock) == .proceed)
            #expect(try await claim(store, scope: "guest:a@example.org", key: "same", hash: "other", clock: clock) == .proceed)
        }
    }

    @Test("the key and its answer are kept with the work's transaction or not at all", arguments: TestDatabase.all)
    func atomicWithWork(database: TestDatabase) async throws {
        struct WorkFailed: Error {}
        try await database.withFreshClient { client in
            let clock = TestClock()
            let store = try await migrated(client, clock: clock)
            await #expect(throws: WorkFailed.self) {
                try await client.transaction { db in
                    _ = try await IdempotencyStore.claimAll(
                        [.init(scope: "s", key: "k", requestHash: "h", status: 201, body: "{}")], now: clock.now(), on: db, dialect: client.dialect
                    )
                    throw WorkFailed()
                }
            }
            #expect(try await store.lookup(scope: "s", key: "k", requestHash: "h") == nil)
            #expect(try await claim(store, key: "k", clock: clock) == .proceed)
        }
    }

    @Test("keys past their retention are purged and can be used afresh; a look-up no longer finds them", arguments: TestDatabase.all)
    func purge(database: TestDatabase) async throws {
        try await database.withFreshClient { client in
            let clock = TestClock()
            let store = try await migrated(client, clock: clock)
            #expect(try await claim(store, key: "old", clock: clock) == .proceed)
            clock.advance(by: .seconds(23 * 3600))
            #expect(try await claim(store, key: "new", clock: clock) == .proceed)
            clock.advance(by: .seconds(3600 + 1))
            #expect(try await store.lookup(scope: "s", key: "old", requestHash: "h") == nil)
            #expect(try await store.purgeExpired() == 1)
            #expect(try await claim(store, key: "old", hash: "other", clock: clock) == .proceed)
            #expect(try await claim(store, key: "new", hash: "other", clock: clock) == .mismatch)
        }
    }

    @Test("50 concurrent requests with one key: exactly one proceeds, the rest replay its answer", arguments: TestDatabase.all)
    func concurrent(database: TestDatabase) async throws {
        try await database.withFreshDatabase { url in
            try await Databases.withClient(url, logger: TestLogging.logger, maxConnections: 10) { client in
                let clock = TestClock()
                let store = try await migrated(client, clock: clock)
                let decisions = try await withThrowingTaskGroup(of: IdempotencyDecision.self) { group in
                    for _ in 0..<50 {
                        group.addTask {
                            try await client.retryingTransaction { db in
                                try await IdempotencyStore.claimAll(
                                    [.init(scope: "user:1", key: "race", requestHash: "h", status: 201, body: #"{"id":"only"}"#)], now: clock.now(),
                                    on: db, dialect: client.dialect
                                )[0]
                            }
                        }
                    }
                    return try await group.reduce(into: [IdempotencyDecision]()) { $0.append($1) }
                }
                #expect(decisions.filter { $0 == .proceed }.count == 1)
                #expect(decisions.allSatisfy { $0 == .proceed || $0 == .replay(status: 201, body: #"{"id":"only"}"#) })
            }
        }
    }

    @Test("keys are 1 to 255 printable characters; fingerprints ignore JSON key order and spacing")
    func keysAndFingerprints() {
        #expect(IdempotencyKey.isValid("a"))
        #expect(IdempotencyKey.isValid(String(repeating: "k", count: 255)))
        #expect(!IdempotencyKey.isValid(""))
        #expect(!IdempotencyKey.isValid(String(repeating: "k", count: 256)))
        #expect(!IdempotencyKey.isValid("line\nbreak"))
        let a = IdempotencyKey.fingerprint(ofJSON: Array(#"{"amount": 2500, "currency": "USD"}"#.utf8))
        let b = IdempotencyKey.fingerprint(ofJSON: Array(#"{"currency":"USD","amount":2500}"#.utf8))
        let c = IdempotencyKey.fingerprint(ofJSON: Array(#"{"currency":"USD","amount":2501}"#.utf8))
        #expect(a == b)
        #expect(a != c)
        #expect(a.count == 64)
    }
}
