import Events
import Foundation
import HTTPSupport
import Outbox
import Persistence
import SQLKit

/// `PaymentStore` on PostgreSQL or SQLite. Writes are single statements with `RETURNING` where
/// they can be; a status change and its outbox rows commit together, and the relay is woken
/// after the commit.
public struct SQLPaymentStore: PaymentStore {
    let database: any DatabaseClient
    let signal: OutboxSignal

    /// Outbox destinations: campaign-service's ingestion and pledge-service's payment webhook, both batched.
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

    public func start(pledgeId: String) async throws -> PaymentStart {
        try await database.withConnection { db in
            guard let row = try await db.raw("""
                SELECT (SELECT refused FROM payment_attempts WHERE pledge_id = \(bind: pledgeId)) AS refused_attempts, \(Self.columns)
                FROM (SELECT 1 AS one) AS start LEFT JOIN payments ON payments.pledge_id = \(bind: pledgeId)
                """).first()
            else { return PaymentStart(payment: nil, refusedAttempts: 0) }
            let payment = try row.decodeNil(column: "id") ? nil : try Self.payment(row)
            return PaymentStart(payment: payment, refusedAttempts: try row.decode(column: "refused_attempts", as: Int?.self) ?? 0)
        }
    }

    public func insertIfAbsent(_ payment: Payment) async throws -> (Payment, created: Bool) {
        try await database.withConnection { db in
            // One statement: a concurrent insert of the same pledge makes this one wait, then do nothing.
            if let inserted = try await db.raw("""
                INSERT INTO payments (\(Self.columns))
                VALUES (\(bind: payment.id), \(bind: payment.pledgeId), \(bind: payment.campaignId), \(bind: payment.userId),
                        \(bind: payment.receiptTokenHash), \(bind: payment.amount), \(bind: payment.currency.rawValue),
                        \(bind: payment.status.rawValue), \(bind: payment.provider), \(bind: payment.providerPaymentId),
                        \(bind: payment.paymentMethod), \(bind: payment.chargeKey), \(bind: payment.clientSecret),
                        \(bind: payment.failureReason), \(bind: payment.createdAt), \(bind: payment.updatedAt))
                ON CONFLICT (pledge_id) DO NOTHING
                RETURNING \(Self.columns)
                """).first() {
                return (try Self.payment(inserted), true)
            }
            guard let existing = try await Self.fetch(where: "pledge_id = \(bind: payment.pledgeId)", on: db) else {
                throw PaymentStoreError.vanished(payment.pledgeId)
            }
            return (existing, false)
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

    public func unsettled(changedBefore before: String, limit: Int) async throws -> [Payment] {
        try await database.withConnection { db in
            try await db.raw("""
                SELECT \(Self.columns) FROM payments
                WHERE status IN ('PENDING', 'AUTHORIZED') AND updated_at < \(bind: before)
                ORDER BY updated_at LIMIT \(bind: limit)
                """).all().map(Self.payment)
        }
    }

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

    public func hasSeen(eventId: String) async throws -> Bool {
        try await database.withConnection { db in
            try await db.raw("SELECT id FROM provider_events WHERE id = \(bind: eventId)").first() != nil
        }
    }

    @discardableResult
    public func recordEvent(_ event: ProviderEventRecord, result: String) async throws -> Bool {
        try await database.withConnection { db in
            try await Self.insertEvent(event, result: result, on: db)
        }
    }

    /// Thrown inside `settle`'s transaction to roll it back when its provider event was recorded before.
    struct DuplicateProviderEvent: Error {}

    public func settle(_ payment: Payment, with settlement: Settlement, traceParent: String?, event: ProviderEventRecord?) async throws
        -> (AdvanceResult, Payment)
    {
        let now = Timestamp.now()
        if database.kind == .postgres, event == nil, let status = settlement.status {
            return try await settleInOneStatement(payment, to: status, with: settlement, traceParent: traceParent, now: now)
        }
        let paymentId = payment.id
        do {
            let outcome = try await database.transaction { db -> (AdvanceResult, Payment) in
                // The move up is one conditional UPDATE: its row lock orders concurrent settlements
                // of the payment, and of any number of them exactly one matches a lower status.
                var moved: Payment?
                if let status = settlement.status {
                    moved = try await db.raw("""
                        UPDATE payments SET \(Self.assignments(status, settlement, now: now))
                        WHERE id = \(bind: paymentId) AND status IN (\(binds: Self.ranksBelow(status)))
                        RETURNING \(Self.columns)
                        """).first().map(Self.payment)
                }
                let current: Payment
                if let moved {
                    current = moved
                    try await Outbox.enqueue(try Self.events(for: moved, traceParent: traceParent, now: now), on: db, now: now)
                } else {
                    current = try await Self.recordIntent(paymentId, settlement, on: db)
                }
                let result: AdvanceResult = moved == nil ? .ignored : .applied
                if let event, try await !Self.insertEvent(event, result: result.rawValue, on: db) {
                    throw DuplicateProviderEvent()
                }
                return (result, current)
            }
            if outcome.0 == .applied { signal.notify() }
            return outcome
        } catch is DuplicateProviderEvent {
            guard let current = try await find(id: paymentId) else { throw PaymentStoreError.vanished(paymentId) }
            return (.duplicate, current)
        }
    }

    /// PostgreSQL, no provider event to record: the conditional UPDATE and its outbox rows in one
    /// statement (a data-modifying `WITH`), one round trip and one commit. The rows are made from
    /// the caller's copy of the payment, whose amount, pledge and campaign never change, and are
    /// inserted only if the update matched.
    func settleInOneStatement(_ payment: Payment, to status: PledgeStatus, with settlement: Settlement, traceParent: String?, now: String)
        async throws -> (AdvanceResult, Payment)
    {
        var expected = payment
        expected.status = status
        expected.failureReason = status == .failed ? (settlement.failureReason ?? "payment_failed") : nil
        let rows = try Self.events(for: expected, traceParent: traceParent, now: now).map { entry -> SQLQueryString in
            "(\(bind: entry.id), \(bind: entry.destination), \(bind: entry.type), \(bind: entry.payload), \(bind: entry.traceParent))"
        }
        let moved = try await database.withConnection { db in
            try await db.raw("""
                WITH moved AS (
                    UPDATE payments SET \(Self.assignments(status, settlement, now: now))
                    WHERE id = \(bind: payment.id) AND status IN (\(binds: Self.ranksBelow(status)))
                    RETURNING \(Self.columns)
                ), queued AS (
                    INSERT INTO outbox (id, destination, event_type, payload, trace_parent, created_at, next_attempt_at)
                    SELECT entry.id, entry.destination, entry.event_type, entry.payload, entry.trace_parent, \(bind: now), \(bind: now)
                    FROM (VALUES \(rows.joined(separator: ", "))) AS entry (id, destination, event_type, payload, trace_parent)
                    WHERE EXISTS (SELECT 1 FROM moved)
                )
                SELECT \(Self.columns) FROM moved
                """).first().map(Self.payment)
        }
        if let moved {
            signal.notify()
            return (.applied, moved)
        }
        // Nothing moved; the intent id is still recorded if the payment has none yet.
        return (.ignored, try await database.withConnection { try await Self.recordIntent(payment.id, settlement, on: $0) })
    }

    /// The statuses `status` ranks above.
    static func ranksBelow(_ status: PledgeStatus) -> [String] {
        PledgeStatus.allCases.filter { $0.canAdvance(to: status) }.map(\.rawValue)
    }

    /// What a move to `status` sets: the status, its failure reason, and the intent (kept if one is there).
    static func assignments(_ status: PledgeStatus, _ settlement: Settlement, now: String) -> SQLQueryString {
        let reason = status == .failed ? (settlement.failureReason ?? "payment_failed") : nil
        return """
            status = \(bind: status.rawValue), failure_reason = \(bind: reason), updated_at = \(bind: now),
            provider_payment_id = COALESCE(provider_payment_id, \(bind: settlement.intentId)),
            client_secret = COALESCE(client_secret, \(bind: settlement.clientSecret))
            """
    }

    /// Records the intent on a payment that has none, and returns the payment as stored.
    static func recordIntent(_ paymentId: String, _ settlement: Settlement, on db: any SQLDatabase) async throws -> Payment {
        guard let current = try await db.raw("""
            UPDATE payments SET provider_payment_id = COALESCE(provider_payment_id, \(bind: settlement.intentId)),
                   client_secret = COALESCE(client_secret, \(bind: settlement.clientSecret))
            WHERE id = \(bind: paymentId)
            RETURNING \(Self.columns)
            """).first().map(Self.payment)
        else { throw PaymentStoreError.vanished(paymentId) }
        return current
    }

    /// The payment event for campaign-service (on settlement) and the status notice for pledge-service.
    static func events(for payment: Payment, traceParent: String?, now: String) throws -> [OutboxEntry] {
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
        case .refunded:
            // Never a settlement: payment-service does not issue refunds yet (PAYMENT_REFUNDED is
            // ingested by campaign-service already).
            nil
        }
        var entries: [OutboxEntry] = []
        if let data {
            let event = EventEnvelope(
                eventId: UUID().uuidString.lowercased(), type: data.type, source: "payment-service", occurredAt: now, traceParent: traceParent, data: data
            )
            entries.append(try OutboxEntry(event, destination: campaignEvents))
        }
        let notice = PaymentStatusNotice(
            eventId: UUID().uuidString.lowercased(), pledgeId: payment.pledgeId, paymentId: payment.id, status: payment.status,
            occurredAt: now, reason: payment.status == .failed ? payment.failureReason : nil, traceParent: traceParent
        )
        entries.append(OutboxEntry(
            id: notice.eventId, type: "PAYMENT_STATUS_NOTICE", payload: String(decoding: try PlainJSON.encoder.encode(notice), as: UTF8.self),
            traceParent: traceParent, destination: pledgeWebhook
        ))
        return entries
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
