import Contracts
import Foundation
import Persistence
import SQLKit

/// One event waiting in (or delivered from) the outbox, as the relay claims it.
public struct OutboxMessage: Sendable, Equatable {
    public let id: String
    public let destination: OutboxDestination
    public let eventType: String
    /// The event as JSON, exactly as it will be sent.
    public let payload: String
    public let traceParent: String?
    public let createdAt: String
    /// Delivery attempts so far, this one included once claimed.
    public let attempts: Int

    public init(
        id: String, destination: OutboxDestination, eventType: String, payload: String, traceParent: String?, createdAt: String, attempts: Int
    ) {
        self.id = id
        self.destination = destination
        self.eventType = eventType
        self.payload = payload
        self.traceParent = traceParent
        self.createdAt = createdAt
        self.attempts = attempts
    }
}

/// One outbox row to write: the exact body to send, its unique id, where it goes, and what it is
/// about (the pledge, for most), by which an operator or a reconciliation finds it again.
public struct OutboxEntry: Sendable {
    public let id: String
    public let type: String
    public let payload: String
    public let traceParent: String?
    public let destination: OutboxDestination
    public let aggregateId: String?

    public init(id: String, type: String, payload: String, traceParent: String?, destination: OutboxDestination, aggregateId: String?) {
        self.id = id
        self.type = type
        self.payload = payload
        self.traceParent = traceParent
        self.destination = destination
        self.aggregateId = aggregateId
    }

    /// An event envelope as its row: the row id is the event id.
    public init<Body>(_ event: Envelope<Body>, destination: OutboxDestination) throws {
        self.init(
            id: event.eventId, type: event.type.rawValue, payload: try WireCoding.text(event), traceParent: event.traceParent,
            destination: destination, aggregateId: event.data.aggregateId
        )
    }

    /// A payment status notice as its row (pledge-service's webhook): the row id is the notice's.
    public init(_ notice: PaymentStatusNotice) throws {
        self.init(
            id: notice.eventId, type: "PAYMENT_STATUS_NOTICE", payload: try WireCoding.text(notice), traceParent: notice.traceParent,
            destination: .pledgeNotices, aggregateId: notice.pledgeId.rawValue
        )
    }
}

/// Writing to the outbox: always inside the transaction of the state change the event describes,
/// so the two commit together or not at all.
public enum Outbox {
    /// Adds every entry in one statement, in the caller's transaction. The row id is the event id,
    /// so a business operation replayed in a new transaction cannot enqueue the same event twice.
    public static func enqueue(_ entries: [OutboxEntry], on db: any SQLDatabase, now: String) async throws {
        guard let insert = rows(entries, now: now) else { return }
        try await db.raw(insert.statement).run()
    }

    /// The entries as one `INSERT`, for a statement that writes them with something else
    /// (`DatabaseClient.updateThenInsert`); nil for none.
    public static func rows(_ entries: [OutboxEntry], now: String) -> InsertRows? {
        guard !entries.isEmpty else { return nil }
        return InsertRows(
            table: "outbox", columns: ["id", "destination", "event_type", "payload", "trace_parent", "aggregate_id", "created_at", "next_attempt_at"],
            rows: entries.map { entry in
                """
                (\(bind: entry.id), \(bind: entry.destination.rawValue), \(bind: entry.type), \(bind: entry.payload), \(bind: entry.traceParent),
                 \(bind: entry.aggregateId), \(bind: now), \(bind: now))
                """
            }
        )
    }
}
