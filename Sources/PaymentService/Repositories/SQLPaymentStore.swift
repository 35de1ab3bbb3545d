import Events
import Foundation
import HTTPSupport
import Outbox
import Persistence
import SQLKit

/// A provider webhook being handled: recorded in `provider_events` in the same transaction as
/// what it changes, so a redelivery is recognised and a failed handling can be retried.
public struct ProviderEventRecord: Sendable, Equatable {
    public let id: String
    public let type: String
    public let paymentIntentId: String?
}

/// What a status change came to.
public enum AdvanceResult: String, Sendable {
    /// The payment moved up, and its events are in the outbox.
    case applied
    /// The payment already was at that rank or beyond: nothing changed.
    case ignored
    /// The provider event was handled before.
    case duplicate
}

/// Payments on PostgreSQL or SQLite. Every status change writes its events in the same
/// transaction: `PAYMENT_CAPTURED` / `PAYMENT_FAILED` for campaign-service and a signed status
/// notice for pledge-service, both through the outbox; the relay is woken after the commit.
public struct SQLPaymentStore: Sendable {
    let database: any DatabaseClient
    let signal: OutboxSignal

    /// Outbox destinations: campaign-service's ingestion (batched) and pledge-service's payment webhook (one notice a request).
    public static let campaignEvents = "campaign-events"
    public static let pledgeWebhook = "pledge-webhook"

    public init(database: any DatabaseClient, signal: OutboxSignal) {
        self.database = database
        self.signal = signal
    }

    static let columns: SQLQueryString = """
        id, pledge_id, campaign_id, user_id, receipt_token_hash, amount, currency, status, provider, provider_payment_id,
        payment_method, charge_key, client_secret, failure_reason, created_at, updated_at
        """

    /// Inserts `payment` unless the pledge has one already. Returns the pledge's payment and
    /// whether this call created it; of any number of concurrent calls, exactly one creates.
    public func insertIfAbsent(_ payment: Payment) async throws -> (Payment, created: Bool) {
        try await database.transaction { db in
            let inserted = try await db.raw("""
                INSERT INTO payments (\(Self.columns))
                VALUES (\(bind: payment.id), \(bind: payment.pledgeId), \(bind: payment.campaignId), \(bind: payment.userId),
                        \(bind: payment.receiptTokenHash), \(bind: payment.amount), \(bind: payment.currency.rawValue),
                        \(bind: payment.status.rawValue), \(bind: payment.provider), \(bind: payment.providerPaymentId),
                        \(bind: payment.paymentMethod), \(bind: payment.chargeKey), \(bind: payment.clientSecret),
                        \(bind: payment.failureReason), \(bind: payment.createdAt), \(bind: payment.updatedAt))
                ON CONFLICT (pledge_id) DO NOTHING
                RETURNING id
                """).all()
            guard let existing = try await Self.fetch(where: "pledge_id = \(bind: payment.pledgeId)", on: db) else {
                throw PaymentStoreError.vanished(payment.pledgeId)
            }
            return (existing, !inserted.isEmpty)
        }
    }

    public func find(id: String) async throws -> Payment? {
        try await database.withConnection { try await Self.fetch(where: "id = \(bind: id)", on: $0) }
    }

    public func find(pledgeId: String) async throws -> Payment? {
        try await database.withConnection { try await Self.fetch(where: "pledge_id = \(bind: pledgeId)", on: $0) }
    }

    public func find(providerPaymentId: String) async throws -> Payment? {
        try await database.withConnection { try await Self.fetch(where: "provider_payment_id = \(bind: providerPaymentId)", on: $0) }
    }

    /// Payments newest first, `limit + 1` rows after `cursor`, narrowed by the filters given.
    public func list(userId: String?, pledgeId: String?, limit: Int, after cursor: PageCursor?) async throws -> [Payment] {
        try await database.withConnection { db in
            var query: SQLQueryString = "SELECT \(Self.columns) FROM payments WHERE 1 = 1"
            if let userId { query += " AND user_id = \(bind: userId)" }
            if let pledgeId { query += " AND pledge_id = \(bind: pledgeId)" }
            if let cursor {
                query += " AND (created_at < \(bind: cursor.sortKey) OR (created_at = \(bind: cursor.sortKey) AND id < \(bind: cursor.id)))"
            }
            query += " ORDER BY created_at DESC, id DESC LIMIT \(bind: limit + 1)"
            return try await db.raw(query).all().map(Self.payment)
        }
    }

    /// Payments still PENDING or AUTHORIZED whose last change is older than `before`, oldest first.
    public func unsettled(changedBefore before: String, limit: Int) async throws -> [Payment] {
        try await database.withConnection { db in
            try await db.raw("""
                SELECT \(Self.columns) FROM payments
                WHERE status IN ('PENDING', 'AUTHORIZED') AND updated_at < \(bind: before)
                ORDER BY updated_at LIMIT \(bind: limit)
                """).all().map(Self.payment)
        }
    }

    /// Records the provider's id for the payment's intent, once: a payment never changes intent.
    /// Returns the payment as stored afterwards.
    public func recordIntent(paymentId: String, intentId: String, clientSecret: String?) async throws -> Payment? {
        try await database.withConnection { db in
            try await db.raw("""
                UPDATE payments SET provider_payment_id = \(bind: intentId), client_secret = COALESCE(client_secret, \(bind: clientSecret))
                WHERE id = \(bind: paymentId) AND provider_payment_id IS NULL
                """).run()
            return try await Self.fetch(where: "id = \(bind: paymentId)", on: db)
        }
    }

    /// Forgets a payment the provider refused before creating anything (an unknown payment
    /// method), so the donor can try again with another. Only a PENDING payment with no intent.
    /// Forgets a payment the provider refused before creating anything (an unknown or unusable
    /// payment method), so the donor may try another method, and counts the refusal against its
    /// pledge. Returns the pledge's refusals so far.
    @discardableResult
    public func discardRefused(paymentId: String, pledgeId: String, at time: String) async throws -> Int {
        try await database.transaction { db in
            try await db.raw("""
                DELETE FROM payments WHERE id = \(bind: paymentId) AND status = 'PENDING' AND provider_payment_id IS NULL
                """).run()
            return try await db.raw("""
                INSERT INTO payment_attempts (pledge_id, refused, last_refused_at) VALUES (\(bind: pledgeId), 1, \(bind: time))
                ON CONFLICT (pledge_id) DO UPDATE SET refused = payment_attempts.refused + 1, last_refused_at = excluded.last_refused_at
                RETURNING refused
                """).first()?.decode(column: "refused", as: Int.self) ?? 1
        }
    }

    /// How many payment methods the provider has refused for this pledge.
    public func refusedAttempts(pledgeId: String) async throws -> Int {
        try await database.withConnection { db in
            try await db.raw("SELECT refused FROM payment_attempts WHERE pledge_id = \(bind: pledgeId)").first()?
                .decode(column: "refused", as: Int.self) ?? 0
        }
    }

    /// Whether the provider event was handled before.
    public func hasSeen(eventId: String) async throws -> Bool {
        try await database.withConnection { db in
            try await db.raw("SELECT id FROM provider_events WHERE id = \(bind: eventId)").first() != nil
        }
    }

    /// Records a provider event that changes nothing (an unhandled type, an intent we do not
    /// know); false if it was seen before.
    @discardableResult
    public func recordEvent(_ event: ProviderEventRecord, result: String) async throws -> Bool {
        try await database.withConnection { db in
            try await Self.insertEvent(event, result: result, on: db)
        }
    }

    /// Moves the payment to `status` if that is a higher rank, under a row lock, writing its
    /// events in the same transaction; records `event` (if any) in that transaction too.
    public func advance(
        paymentId: String, to status: PledgeStatus, intentId: String?, reason: String?, traceParent: String?,
        event: ProviderEventRecord? = nil
    ) async throws -> (AdvanceResult, Payment) {
        let kind = database.kind
        let now = Timestamp.now()
        let outcome = try await database.transaction { db -> (AdvanceResult, Payment) in
            let lock: SQLQueryString = kind == .postgres ? " FOR UPDATE" : ""
            // The payment first: its row lock orders every change to it, duplicates included.
            guard let payment = try await Self.fetch(where: "id = \(bind: paymentId)\(lock)", on: db) else {
                throw PaymentStoreError.vanished(paymentId)
            }
            if let event {
                guard try await Self.insertEvent(event, result: "pending", on: db) else { return (.duplicate, payment) }
            }
            var result = AdvanceResult.ignored
            var updated = payment
            if payment.status.canAdvance(to: status) {
                updated.status = status
                updated.providerPaymentId = payment.providerPaymentId ?? intentId
                updated.failureReason = status == .failed ? (reason ?? "payment_failed") : nil
                updated.updatedAt = now
                try await db.raw("""
                    UPDATE payments SET status = \(bind: status.rawValue), provider_payment_id = \(bind: updated.providerPaymentId),
                                        failure_reason = \(bind: updated.failureReason), updated_at = \(bind: now)
                    WHERE id = \(bind: paymentId)
                    """).run()
                try await Self.enqueueEvents(for: updated, from: payment.status, traceParent: traceParent, now: now, on: db)
                result = .applied
            }
            if let event {
                try await db.raw("UPDATE provider_events SET result = \(bind: result.rawValue) WHERE id = \(bind: event.id)").run()
            }
            return (result, updated)
        }
        if outcome.0 == .applied { signal.notify() }
        return outcome
    }

    /// The payment event for campaign-service (on settlement) and the status notice for pledge-service.
    static func enqueueEvents(for payment: Payment, from previous: PledgeStatus, traceParent: String?, now: String, on db: any SQLDatabase) async throws {
        let data: EventData? = switch payment.status {
        case .captured:
            .paymentCaptured(PaymentCaptured(
                paymentId: payment.id, pledgeId: payment.pledgeId, campaignId: payment.campaignId, amount: payment.amount, currency: payment.currency
            ))
        case .failed:
            .paymentFailed(PaymentFailed(
                paymentId: payment.id, pledgeId: payment.pledgeId, campaignId: payment.campaignId, amount: payment.amount,
                currency: payment.currency, error: payment.failureReason
            ))
        case .pending, .authorized:
            nil
        }
        if let data {
            let event = EventEnvelope(
                eventId: UUID().uuidString.lowercased(), type: data.type, source: "payment-service", occurredAt: now, traceParent: traceParent, data: data
            )
            try await Outbox.enqueue(event, destination: campaignEvents, on: db, now: now)
        }
        let notice = PaymentStatusNotice(
            eventId: UUID().uuidString.lowercased(), pledgeId: payment.pledgeId, paymentId: payment.id, status: payment.status,
            occurredAt: now, reason: payment.status == .failed ? payment.failureReason : nil
        )
        try await Outbox.enqueue(
            id: notice.eventId, type: "PAYMENT_STATUS_NOTICE", payload: String(decoding: try JSONEncoder().encode(notice), as: UTF8.self),
            traceParent: traceParent, destination: pledgeWebhook, on: db, now: now
        )
    }

    static func insertEvent(_ event: ProviderEventRecord, result: String, on db: any SQLDatabase) async throws -> Bool {
        try await !db.raw("""
            INSERT INTO provider_events (id, type, payment_intent_id, result, received_at)
            VALUES (\(bind: event.id), \(bind: event.type), \(bind: event.paymentIntentId), \(bind: result), \(bind: Timestamp.now()))
            ON CONFLICT (id) DO NOTHING
            RETURNING id
            """).all().isEmpty
    }

    static func fetch(where condition: SQLQueryString, on db: any SQLDatabase) async throws -> Payment? {
        try await db.raw("SELECT \(columns) FROM payments WHERE \(condition)").first().map(payment)
    }

    static func payment(_ row: any SQLRow) throws -> Payment {
        Payment(
            id: try row.decode(column: "id", as: String.self),
            pledgeId: try row.decode(column: "pledge_id", as: String.self),
            campaignId: try row.decode(column: "campaign_id", as: String.self),
            userId: try row.decode(column: "user_id", as: String?.self),
            receiptTokenHash: try row.decode(column: "receipt_token_hash", as: String?.self),
            amount: try row.decode(column: "amount", as: Int64.self),
            currency: Currency(rawValue: try row.decode(column: "currency", as: String.self)) ?? Currency(rawValue: "USD")!,
            status: PledgeStatus(rawValue: try row.decode(column: "status", as: String.self)) ?? .pending,
            provider: try row.decode(column: "provider", as: String.self),
            providerPaymentId: try row.decode(column: "provider_payment_id", as: String?.self),
            paymentMethod: try row.decode(column: "payment_method", as: String.self),
            chargeKey: try row.decode(column: "charge_key", as: String.self),
            clientSecret: try row.decode(column: "client_secret", as: String?.self),
            failureReason: try row.decode(column: "failure_reason", as: String?.self),
            createdAt: try row.decode(column: "created_at", as: String.self),
            updatedAt: try row.decode(column: "updated_at", as: String.self)
        )
    }
}

enum PaymentStoreError: Error {
    case vanished(String)
}
