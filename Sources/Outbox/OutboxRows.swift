import Contracts
import Foundation
import Persistence
import SQLKit

/// One outbox row as an operator sees it.
public struct OutboxRow: Codable, Sendable, Equatable {
    public let id: String
    public let destination: String
    public let eventType: String
    /// The event's id: a row's id is its event's.
    public let eventId: String
    public let attempts: Int
    public let lastError: String?
    /// When it is tried next; nil for a dead row (never, unless an admin retries it).
    public let nextAttemptAt: String?
    public let createdAt: String
    public let deadAt: String?
    public let deliveredAt: String?
}

/// What an operator does with a publisher's outbox: list what waits and what is dead, send a
/// row again now, or park one (dead, with the reason, kept). Every publisher has the same rows,
/// so every publisher answers the same routes.
public struct OutboxRows: Sendable {
    public enum State: String, Sendable {
        /// Not delivered and not dead: waiting for its next attempt (backoff) or in flight.
        case pending
        case dead
        /// Delivered ones too (a pledge's whole history), oldest first.
        case all
    }

    public enum Refusal: Error, Equatable {
        case notFound
        case delivered
        /// A relay is sending it right now.
        case inFlight
        /// Parked or refused already.
        case dead
    }

    public let database: any DatabaseClient
    /// Wakes the relay when a row is put back.
    let signal: QueueSignal
    let clock: any StoreClock

    public init(database: any DatabaseClient, signal: QueueSignal, clock: any StoreClock) {
        self.database = database
        self.signal = signal
        self.clock = clock
    }

    static let columns: SQLQueryString = "id, destination, event_type, attempts, last_error, next_attempt_at, created_at, dead_at, delivered_at"

    /// Pending rows oldest first (what is stuck comes first); dead rows newest first; all of them
    /// oldest first. With `pledgeId`, only the rows about that pledge.
    public func list(_ state: State, pledgeId: PledgeID? = nil, limit: Int, after cursor: PageCursor?) async throws -> [OutboxRow] {
        try await database.withConnection { db in
            var query: SQLQueryString = "SELECT \(Self.columns) FROM outbox WHERE 1 = 1"
            if let pledgeId {
                query += " AND aggregate_id = \(bind: pledgeId.rawValue)"
            }
            switch state {
            case .pending, .all:
                if state == .pending { query += " AND delivered_at IS NULL AND dead_at IS NULL" }
                if let cursor {
                    query += " AND (created_at > \(bind: cursor.sortKey) OR (created_at = \(bind: cursor.sortKey) AND id > \(bind: cursor.id)))"
                }
                query += " ORDER BY created_at, id"
            case .dead:
                query += " AND delivered_at IS NULL AND dead_at IS NOT NULL"
                if let cursor {
                    query += " AND (dead_at < \(bind: cursor.sortKey) OR (dead_at = \(bind: cursor.sortKey) AND id < \(bind: cursor.id)))"
                }
                query += " ORDER BY dead_at DESC, id DESC"
            }
            return try await db.raw(query + " LIMIT \(bind: limit + 1)").all().map(Self.row)
        }
    }

    public func find(id: String) async throws -> OutboxRow? {
        try await database.withConnection { db in
            try await db.raw("SELECT \(Self.columns) FROM outbox WHERE id = \(bind: id)").first().map(Self.row)
        }
    }

    /// A dead or waiting row, due now; the relay is woken.
    public func retry(id: String) async throws(Refusal) -> OutboxRow {
        let time = clock.timestamp()
        let updated: OutboxRow?
        do {
            updated = try await database.withConnection { db in
                try await db.raw("""
                    UPDATE outbox SET dead_at = NULL, next_attempt_at = \(bind: time), claimed_until = NULL
                    WHERE id = \(bind: id) AND delivered_at IS NULL AND (claimed_until IS NULL OR claimed_until <= \(bind: time))
                    RETURNING \(Self.columns)
                    """).first().map(Self.row)
            }
        } catch {
            throw .notFound
        }
        guard let updated else { throw await why(id: id) }
        signal.notify()
        return updated
    }

    /// Stops a waiting row: dead, with "parked: <reason>", kept, sent again only if retried.
    public func park(id: String, reason: String) async throws(Refusal) -> OutboxRow {
        let time = clock.timestamp()
        let parked: OutboxRow?
        do {
            parked = try await database.withConnection { db in
                try await db.raw("""
                    UPDATE outbox SET dead_at = \(bind: time), last_error = \(bind: "parked: " + reason)
                    WHERE id = \(bind: id) AND delivered_at IS NULL AND dead_at IS NULL AND (claimed_until IS NULL OR claimed_until <= \(bind: time))
                    RETURNING \(Self.columns)
                    """).first().map(Self.row)
            }
        } catch {
            throw .notFound
        }
        guard let parked else { throw await why(id: id) }
        return parked
    }

    /// Puts every row to `destination` about these pledges back to be sent again now, delivered
    /// or dead (how a reconciliation repairs an event lost between services: the consumer drops
    /// what it had already). Returns how many rows go again.
    public func resend(pledgeIds: [PledgeID], destination: OutboxDestination) async throws -> Int {
        let ids = pledgeIds.prefix(1000).map(\.rawValue).filter { !$0.isEmpty && $0.count <= 100 }
        guard !ids.isEmpty else { return 0 }
        let time = clock.timestamp()
        let total = try await database.withConnection { db in
            try await db.raw("""
                UPDATE outbox SET delivered_at = NULL, dead_at = NULL, next_attempt_at = \(bind: time), claimed_until = NULL
                WHERE aggregate_id IN (\(binds: Array(ids))) AND destination = \(bind: destination.rawValue)
                RETURNING id
                """).all().count
        }
        if total > 0 { signal.notify() }
        return total
    }

    /// Why a row could not be changed.
    func why(id: String) async -> Refusal {
        guard let row = try? await find(id: id) else { return .notFound }
        if row.deliveredAt != nil { return .delivered }
        if row.deadAt != nil { return .dead }
        return .inFlight
    }

    static func row(_ row: any SQLRow) throws -> OutboxRow {
        let dead = try row.decode(column: "dead_at", as: String?.self)
        let id = try row.decode(column: "id", as: String.self)
        return OutboxRow(
            id: id, destination: try row.decode(column: "destination", as: String.self), eventType: try row.decode(column: "event_type", as: String.self),
            eventId: id, attempts: try row.decode(column: "attempts", as: Int.self), lastError: try row.decode(column: "last_error", as: String?.self),
            nextAttemptAt: dead == nil ? try row.decode(column: "next_attempt_at", as: String.self) : nil,
            createdAt: try row.decode(column: "created_at", as: String.self), deadAt: dead,
            deliveredAt: try row.decode(column: "delivered_at", as: String?.self)
        )
    }
}
