import Auth
import Foundation
import HTTPSupport
import Hummingbird
import Logging
import Persistence
import SQLKit

/// One outbox row as an operator sees it.
public struct OutboxRow: ResponseEncodable, Decodable, Sendable, Equatable {
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

    let database: any DatabaseClient
    /// Wakes the relay when a row is put back.
    let signal: OutboxSignal

    public init(database: any DatabaseClient, signal: OutboxSignal) {
        self.database = database
        self.signal = signal
    }

    static let columns: SQLQueryString = "id, destination, event_type, attempts, last_error, next_attempt_at, created_at, dead_at, delivered_at"

    /// Pending rows oldest first (what is stuck comes first); dead rows newest first; all of them
    /// oldest first. With `pledgeId`, only the rows about that pledge.
    public func list(_ state: State, pledgeId: String? = nil, limit: Int, after cursor: PageCursor?) async throws -> [OutboxRow] {
        try await database.withConnection { db in
            var query: SQLQueryString = "SELECT \(Self.columns) FROM outbox WHERE 1 = 1"
            if let pledgeId {
                query += " AND payload LIKE \(bind: Self.pledgePattern(pledgeId)) ESCAPE '\\'"
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

    /// `LIKE` for the rows whose payload names the pledge (`"pledge_id":"<id>"`, as the encoder
    /// writes it), its own wildcards escaped.
    static func pledgePattern(_ pledgeId: String) -> String {
        let escaped = pledgeId.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "%", with: "\\%")
            .replacingOccurrences(of: "_", with: "\\_")
        return "%\"pledge_id\":\"" + escaped + "\"%"
    }

    public func find(id: String) async throws -> OutboxRow? {
        try await database.withConnection { db in
            try await db.raw("SELECT \(Self.columns) FROM outbox WHERE id = \(bind: id)").first().map(Self.row)
        }
    }

    /// A dead or waiting row, due now; the relay is woken.
    public func retry(id: String, now: Date = DatabaseClock.now()) async throws(Refusal) -> OutboxRow {
        let time = Timestamp.format(now)
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
    public func park(id: String, reason: String, now: Date = DatabaseClock.now()) async throws(Refusal) -> OutboxRow {
        let time = Timestamp.format(now)
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
    public func resend(pledgeIds: [String], destination: String, now: Date = DatabaseClock.now()) async throws -> Int {
        let time = Timestamp.format(now)
        var total = 0
        for pledgeId in pledgeIds.prefix(1000) where !pledgeId.isEmpty && pledgeId.count <= 100 {
            let pattern = Self.pledgePattern(pledgeId)
            total += try await database.withConnection { db in
                try await db.raw("""
                    UPDATE outbox SET delivered_at = NULL, dead_at = NULL, next_attempt_at = \(bind: time), claimed_until = NULL
                    WHERE destination = \(bind: destination) AND payload LIKE \(bind: pattern) ESCAPE '\\'
                    RETURNING id
                    """).all().count
            }
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

/// `GET /<segment>/admin/outbox?state=pending|dead|all&pledge_id=&limit=&cursor=`, `GET .../{id}`,
/// `POST .../{id}/retry`, `POST .../{id}/park {reason}`: admins only, on every service that publishes.
public struct OutboxAdminController: Sendable {
    let rows: OutboxRows

    public init(rows: OutboxRows) {
        self.rows = rows
    }

    public func addRoutes(to group: RouterGroup<AppRequestContext>) {
        let admin = group.group("admin/outbox").add(middleware: RequireRoleMiddleware(.admin))
        admin.get(use: list)
        admin.get(":id", use: show)
        admin.post(":id/retry", use: retry)
        admin.post(":id/park", use: park)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Page<OutboxRow> {
        let page = try PageRequest(request: request)
        let raw = request.uri.queryParameters["state"].map(String.init) ?? "pending"
        guard let state = OutboxRows.State(rawValue: raw) else { throw APIError.invalidParameter("state", "must be pending, dead or all") }
        let pledgeId = request.uri.queryParameters["pledge_id"].map(String.init).flatMap { $0.isEmpty ? nil : $0 }
        // A pledge id is a UUID; anything else (a NUL byte, which PostgreSQL's text refuses) names no row.
        if let pledgeId, UUID(uuidString: pledgeId) == nil { throw APIError.invalidParameter("pledge_id", "must be a pledge id (a UUID)") }
        let found = try await rows.list(state, pledgeId: pledgeId, limit: page.limit, after: page.cursor)
        return Page(rows: found, limit: page.limit, item: { $0 }) { PageCursor(sortKey: state == .dead ? ($0.deadAt ?? "") : $0.createdAt, id: $0.id) }
    }

    /// One row, delivered or not: how an operator sees a retried row arrive.
    @Sendable func show(_ request: Request, context: AppRequestContext) async throws -> OutboxRow {
        guard let row = try await rows.find(id: try context.parameters.require("id")) else { throw Self.answer(.notFound) }
        return row
    }

    @Sendable func retry(_ request: Request, context: AppRequestContext) async throws -> OutboxRow {
        let id = try context.parameters.require("id")
        do {
            let row = try await rows.retry(id: id)
            context.logger.notice("outbox row sent again by an admin", metadata: ["outbox_id": .string(id), "destination": .string(row.destination)])
            return row
        } catch {
            throw Self.answer(error)
        }
    }

    struct ParkBody: Decodable {
        let reason: String?
    }

    @Sendable func park(_ request: Request, context: AppRequestContext) async throws -> OutboxRow {
        let id = try context.parameters.require("id")
        let body = try await request.decode(as: ParkBody.self, context: context)
        guard let reason = body.reason?.trimmingCharacters(in: .whitespacesAndNewlines), !reason.isEmpty, TextLimit(characters: 300).allows(reason)
        else { throw APIError(.badRequest, code: "invalid_reason", message: "reason is required: 1 to 300 characters.") }
        do {
            let row = try await rows.park(id: id, reason: reason)
            context.logger.notice("outbox row parked by an admin", metadata: ["outbox_id": .string(id), "reason": .string(reason)])
            return row
        } catch {
            throw Self.answer(error)
        }
    }

    static func answer(_ refusal: OutboxRows.Refusal) -> APIError {
        switch refusal {
        case .notFound: APIError(.notFound, code: "not_found", message: "No such outbox row.")
        case .delivered: APIError(.conflict, code: "already_delivered", message: "This row was delivered; there is nothing to send.")
        case .inFlight: APIError(.conflict, code: "in_flight", message: "A relay is sending this row right now; try again in a moment.")
        case .dead: APIError(.conflict, code: "already_dead", message: "This row is dead already (refused or parked); retry it to send it again.")
        }
    }
}
