import Events
import Foundation
import HTTPSupport
import Idempotency
import Outbox
import Persistence
import SQLKit

/// `PledgeStore` on PostgreSQL or SQLite. Every state change writes its outbox row in the same
/// transaction; the relay is woken after the commit.
public struct SQLPledgeStore: PledgeStore {
    let database: any DatabaseClient
    let signal: OutboxSignal
    /// The outbox destination of pledge events (campaign-service's ingestion).
    public static let eventDestination = "campaign-events"

    public init(database: any DatabaseClient, signal: OutboxSignal) {
        self.database = database
        self.signal = signal
    }

    static let columns: SQLQueryString = """
        id, campaign_id, user_id, guest_email, donor_name, amount, currency, status, anonymous, message,
        receipt_token_hash, created_at, updated_at
        """

    public func create(_ new: NewPledge) async throws -> IdempotencyDecision {
        let pledge = new.pledge
        let kind = database.kind
        let decision = try await database.transaction { db -> IdempotencyDecision in
            let decision = try await IdempotencyStore.claim(
                scope: new.idempotencyScope, key: new.idempotencyKey, requestHash: new.requestHash, status: new.responseStatus,
                body: new.responseBody, on: db, kind: kind
            )
            guard decision == .proceed else { return decision }
            try await db.raw("""
                INSERT INTO pledges (\(Self.columns))
                VALUES (\(bind: pledge.id), \(bind: pledge.campaignId), \(bind: pledge.userId), \(bind: pledge.guestEmail),
                        \(bind: pledge.donorName), \(bind: pledge.amount), \(bind: pledge.currency.rawValue), \(bind: pledge.status.rawValue),
                        \(bind: pledge.anonymous ? 1 : 0), \(bind: pledge.message), \(bind: pledge.receiptTokenHash),
                        \(bind: pledge.createdAt), \(bind: pledge.updatedAt))
                """).run()
            try await Self.recordTransition(pledgeId: pledge.id, from: nil, to: pledge.status, at: pledge.createdAt, on: db)
            try await Outbox.enqueue(new.event, destination: Self.eventDestination, on: db, now: pledge.createdAt)
            return .proceed
        }
        if decision == .proceed { signal.notify() }
        return decision
    }

    public func find(id: String) async throws -> (Pledge, [TransitionResponse])? {
        try await database.withConnection { db in
            guard let pledge = try await db.raw("SELECT \(Self.columns) FROM pledges WHERE id = \(bind: id)").first().map(Self.pledge) else {
                return nil
            }
            let transitions = try await db.raw("""
                SELECT from_status, to_status, at FROM pledge_transitions WHERE pledge_id = \(bind: id)
                ORDER BY at, CASE to_status WHEN 'PENDING' THEN 0 WHEN 'AUTHORIZED' THEN 1 ELSE 2 END
                """).all().map { row in
                TransitionResponse(
                    from: try row.decode(column: "from_status", as: String?.self),
                    to: try row.decode(column: "to_status", as: String.self),
                    at: try row.decode(column: "at", as: String.self)
                )
            }
            return (pledge, transitions)
        }
    }

    public func list(userId: String?, campaignId: String?, status: PledgeStatus?, limit: Int, after cursor: PageCursor?) async throws -> [Pledge] {
        try await database.withConnection { db in
            var query: SQLQueryString = "SELECT \(Self.columns) FROM pledges WHERE 1 = 1"
            if let userId { query += " AND user_id = \(bind: userId)" }
            if let campaignId { query += " AND campaign_id = \(bind: campaignId)" }
            if let status { query += " AND status = \(bind: status.rawValue)" }
            if let cursor {
                query += " AND (created_at < \(bind: cursor.sortKey) OR (created_at = \(bind: cursor.sortKey) AND id < \(bind: cursor.id)))"
            }
            query += " ORDER BY created_at DESC, id DESC LIMIT \(bind: limit + 1)"
            return try await db.raw(query).all().map(Self.pledge)
        }
    }

    public func applyPaymentWebhook(_ webhook: PaymentWebhook, source: String) async throws -> (WebhookResult, PledgeStatus)? {
        let kind = database.kind
        let now = Timestamp.now()
        let outcome = try await database.transaction { db -> (WebhookResult, PledgeStatus)? in
            let lock: SQLQueryString = kind == .postgres ? " FOR UPDATE" : ""
            // The pledge first: its row lock orders every webhook for it, duplicates included.
            guard let pledge = try await db.raw("SELECT \(Self.columns) FROM pledges WHERE id = \(bind: webhook.pledgeId)\(lock)")
                .first().map(Self.pledge)
            else { return nil }
            let fresh = try await db.raw("""
                INSERT INTO payment_webhook_events (event_id, pledge_id, status, result, received_at)
                VALUES (\(bind: webhook.eventId), \(bind: webhook.pledgeId), \(bind: webhook.status.rawValue), 'pending', \(bind: now))
                ON CONFLICT (event_id) DO NOTHING
                RETURNING event_id
                """).all()
            guard !fresh.isEmpty else { return (.duplicate, pledge.status) }

            let result: WebhookResult
            switch PledgeStateMachine.decide(current: pledge.status, next: webhook.status) {
            case .ignore:
                result = .ignored
            case .apply(let from, let to):
                try await db.raw("UPDATE pledges SET status = \(bind: to.rawValue), updated_at = \(bind: now) WHERE id = \(bind: pledge.id)").run()
                try await Self.recordTransition(pledgeId: pledge.id, from: from, to: to, at: now, on: db)
                let event = EventEnvelope(
                    eventId: UUID().uuidString.lowercased(), type: .pledgeStatusChanged, source: source, occurredAt: now,
                    traceParent: webhook.traceParent,
                    data: .pledgeStatusChanged(PledgeStatusChanged(
                        pledgeId: pledge.id, campaignId: pledge.campaignId, previousStatus: from, newStatus: to,
                        amount: pledge.amount, currency: pledge.currency
                    ))
                )
                try await Outbox.enqueue(event, destination: Self.eventDestination, on: db, now: now)
                result = .applied
            }
            try await db.raw("UPDATE payment_webhook_events SET result = \(bind: result.rawValue) WHERE event_id = \(bind: webhook.eventId)").run()
            let status = result == .applied ? webhook.status : pledge.status
            return (result, status)
        }
        if outcome?.0 == .applied { signal.notify() }
        return outcome
    }

    static func recordTransition(pledgeId: String, from: PledgeStatus?, to: PledgeStatus, at time: String, on db: any SQLDatabase) async throws {
        try await db.raw("""
            INSERT INTO pledge_transitions (id, pledge_id, from_status, to_status, at)
            VALUES (\(bind: UUID().uuidString.lowercased()), \(bind: pledgeId), \(bind: from?.rawValue), \(bind: to.rawValue), \(bind: time))
            """).run()
    }

    static func pledge(_ row: any SQLRow) throws -> Pledge {
        Pledge(
            id: try row.decode(column: "id", as: String.self),
            campaignId: try row.decode(column: "campaign_id", as: String.self),
            userId: try row.decode(column: "user_id", as: String?.self),
            guestEmail: try row.decode(column: "guest_email", as: String?.self),
            donorName: try row.decode(column: "donor_name", as: String.self),
            amount: try row.decode(column: "amount", as: Int64.self),
            currency: Currency(rawValue: try row.decode(column: "currency", as: String.self)) ?? Currency(rawValue: "USD")!,
            status: PledgeStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .pending,
            anonymous: try row.decode(column: "anonymous", as: Int.self) != 0,
            message: try row.decode(column: "message", as: String?.self),
            receiptTokenHash: try row.decode(column: "receipt_token_hash", as: String?.self),
            createdAt: try row.decode(column: "created_at", as: String.self),
            updatedAt: try row.decode(column: "updated_at", as: String.self)
        )
    }
}
