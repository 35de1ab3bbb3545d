import Crypto
import Signatures
import Foundation
import Persistence
import SQLKit

/// The `idempotency_keys` table, added to the migrations of every service that takes
/// `Idempotency-Key`.
public enum IdempotencySchema {
    public static let migration = SQLMigration(name: "idempotency_001_create", [
        """
        CREATE TABLE idempotency_keys (
            scope TEXT NOT NULL,
            idempotency_key TEXT NOT NULL,
            request_hash TEXT NOT NULL,
            state TEXT NOT NULL CHECK (state IN ('in_flight', 'completed')),
            response_status INTEGER,
            response_body TEXT,
            locked_until TEXT NOT NULL,
            created_at TEXT NOT NULL,
            expires_at TEXT NOT NULL,
            PRIMARY KEY (scope, idempotency_key)
        )
        """,
        "CREATE INDEX idempotency_keys_expiry ON idempotency_keys (expires_at)",
    ])
}

/// What to do with a request that carries an idempotency key.
public enum IdempotencyDecision: Sendable, Equatable {
    /// First time (or the key's retention ended): the work is being done, in the same
    /// transaction as the claim.
    case proceed
    /// Done before with the same body: answer this again, byte for byte.
    case replay(status: Int, body: String)
    /// The same key is being worked on right now: 409 `idempotency_key_in_use`.
    case inFlight
    /// The key was used with another body: 422 `idempotency_key_reused`.
    case mismatch
}

/// Idempotency keys, claimed in the transaction that does the work (`claimAll`): the key, the
/// answer, the business rows and their outbox events commit together, so a retry with the key
/// either finds the stored answer or does the work itself. Keys are kept for `retention`.
public struct IdempotencyStore: Sendable {
    let database: any DatabaseClient
    let clock: any StoreClock
    /// How long a key is remembered.
    public let retention: TimeInterval

    public init(database: any DatabaseClient, clock: any StoreClock, retention: TimeInterval = 24 * 3600) {
        self.database = database
        self.clock = clock
        self.retention = retention
    }

    /// One key with its answer, for `claimAll`.
    public struct Claim: Sendable {
        public let scope: String
        public let key: String
        public let requestHash: String
        public let status: Int
        public let body: String

        public init(scope: String, key: String, requestHash: String, status: Int, body: String) {
            self.scope = scope
            self.key = key
            self.requestHash = requestHash
            self.status = status
            self.body = body
        }
    }

    /// Keys with their answers in one step, in the caller's transaction (the one that does the
    /// work), all in one statement: for each claim, in order, `.proceed` when its request is the
    /// first with the key (the row already holds its answer: do the work and commit both
    /// together), otherwise what to answer. A concurrent request with the same key waits at the
    /// insert until that transaction ends, then replays its answer. Keys in one call must differ.
    public static func claimAll(
        _ claims: [Claim], now: Date, retention: TimeInterval = 24 * 3600, on db: any SQLDatabase, dialect: DatabaseDialect
    ) async throws -> [IdempotencyDecision] {
        guard !claims.isEmpty else { return [] }
        let times = Times(now: now, retention: retention)
        // In key order, so concurrent batches wait for each other's keys in one order, never in a cycle.
        let rows = claims.sorted { ($0.scope, $0.key) < ($1.scope, $1.key) }.map { claim -> SQLQueryString in
            """
            (\(bind: claim.scope), \(bind: claim.key), \(bind: claim.requestHash), 'completed', \(bind: claim.status), \(bind: claim.body),
             \(bind: times.now), \(bind: times.now), \(bind: times.expiresAt))
            """
        }
        var inserted = Set<String>()
        for row in try await db.raw("""
            INSERT INTO idempotency_keys (scope, idempotency_key, request_hash, state, response_status, response_body, locked_until, created_at, expires_at)
            VALUES \(rows.joined(separator: ", "))
            ON CONFLICT (scope, idempotency_key) DO NOTHING
            RETURNING scope, idempotency_key
            """).all() {
            inserted.insert(try row.decode(column: "scope", as: String.self) + "\u{0}" + row.decode(column: "idempotency_key", as: String.self))
        }
        var decisions: [IdempotencyDecision] = []
        for claim in claims {
            if inserted.contains(claim.scope + "\u{0}" + claim.key) {
                decisions.append(.proceed)
            } else {
                decisions.append(try await resolveExisting(
                    scope: claim.scope, key: claim.key, requestHash: claim.requestHash, times: times, completing: (claim.status, claim.body),
                    on: db, dialect: dialect
                ))
            }
        }
        return decisions
    }

    /// What an earlier use of the key means for this request, read without changing anything
    /// (nil: the key was never used): a request that cannot be done now may still be a replay.
    public func lookup(scope: String, key: String, requestHash: String) async throws -> IdempotencyDecision? {
        let nowText = clock.timestamp()
        return try await database.withConnection { db in
            guard let row = try await db.raw("""
                SELECT request_hash, state, response_status, response_body, locked_until, expires_at FROM idempotency_keys
                WHERE scope = \(bind: scope) AND idempotency_key = \(bind: key)
                """).first(), try row.decode(column: "expires_at", as: String.self) > nowText
            else { return nil }
            return try Self.decision(row, requestHash: requestHash)
        }
    }

    struct Times {
        let now: String
        let expiresAt: String

        init(now: Date, retention: TimeInterval) {
            self.now = Timestamp.format(now)
            self.expiresAt = Timestamp.format(now.addingTimeInterval(retention))
        }
    }

    /// The key exists: locked, it is taken over when forgotten (or left in flight by an older
    /// version's worker that died), else it answers what it holds.
    static func resolveExisting(
        scope: String, key: String, requestHash: String, times: Times, completing answer: (status: Int, body: String),
        on db: any SQLDatabase, dialect: DatabaseDialect
    ) async throws -> IdempotencyDecision {
        let lock = dialect.rowLock
        guard let row = try await db.raw("""
            SELECT request_hash, state, response_status, response_body, locked_until, expires_at FROM idempotency_keys
            WHERE scope = \(bind: scope) AND idempotency_key = \(bind: key)\(lock)
            """).first()
        else { return .inFlight }  // deleted between the two statements: let the client retry
        let expired = try row.decode(column: "expires_at", as: String.self) <= times.now
        let lapsed = try row.decode(column: "locked_until", as: String.self) <= times.now
        let state = try row.decode(column: "state", as: String.self)
        if expired || (state == "in_flight" && lapsed) {
            // Forgotten, or its worker died: this request takes the key over.
            try await db.raw("""
                UPDATE idempotency_keys SET request_hash = \(bind: requestHash), state = 'completed',
                    response_status = \(bind: answer.status), response_body = \(bind: answer.body), locked_until = \(bind: times.now),
                    created_at = \(bind: times.now), expires_at = \(bind: times.expiresAt)
                WHERE scope = \(bind: scope) AND idempotency_key = \(bind: key)
                """).run()
            return .proceed
        }
        return try decision(row, requestHash: requestHash)
    }

    static func decision(_ row: any SQLRow, requestHash: String) throws -> IdempotencyDecision {
        guard try row.decode(column: "request_hash", as: String.self) == requestHash else { return .mismatch }
        guard try row.decode(column: "state", as: String.self) == "completed" else { return .inFlight }
        return .replay(
            status: try row.decode(column: "response_status", as: Int.self),
            body: try row.decode(column: "response_body", as: String.self)
        )
    }

    /// Deletes keys past their retention; returns how many.
    @discardableResult
    public func purgeExpired() async throws -> Int {
        let nowText = clock.timestamp()
        return try await database.withConnection { db in
            try await db.raw("DELETE FROM idempotency_keys WHERE expires_at <= \(bind: nowText) RETURNING scope").all().count
        }
    }
}

/// Keys and request fingerprints.
public enum IdempotencyKey {
    /// A key is 1 to 255 printable ASCII characters.
    public static func isValid(_ key: String) -> Bool {
        (1...255).contains(key.count) && key.allSatisfy { $0.isASCII && !$0.isNewline && ($0.asciiValue ?? 0) >= 0x20 && ($0.asciiValue ?? 0) < 0x7F }
    }

    /// SHA-256 of a body already in canonical form (keys sorted, compact).
    public static func fingerprint(canonical: [UInt8]) -> String {
        Hex.encode(SHA256.hash(data: canonical))
    }
}
