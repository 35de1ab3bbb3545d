import Contracts
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
    let signal: QueueSignal
    let clock: any StoreClock

    public init(database: any DatabaseClient, signal: QueueSignal, clock: any StoreClock) {
        self.database = database
        self.signal = signal
        self.clock = clock
    }

    static let columns: SQLQueryString = """
        id, pledge_id, campaign_id, user_id, receipt_token_hash, amount, currency, status, provider, provider_payment_id,
        payment_method, charge_key, client_secret, failure_reason, created_at, updated_at, refunded_amount, trace_parent
        """

    public func start(pledgeId: PledgeID) async throws -> PaymentStart {
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
                        \(bind: payment.receiptTokenHash), \(bind: payment.amount.minorUnits), \(bind: payment.currency.rawValue),
                        \(bind: payment.status.rawValue), \(bind: payment.provider), \(bind: payment.providerPaymentId),
                        \(bind: payment.paymentMethod), \(bind: payment.chargeKey), \(bind: payment.clientSecret),
                        \(bind: payment.failureReason), \(bind: payment.createdAt), \(bind: payment.updatedAt),
                        \(bind: payment.refundedAmount.minorUnits), \(bind: payment.traceParent))
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

    public func find(id: PaymentID) async throws -> Payment? {
        try await database.withConnection { try await Self.fetch(where: "id = \(bind: id)", on: $0) }
    }

    public func find(pledgeId: PledgeID) async throws -> Payment? {
        try await database.withConnection { try await Self.fetch(where: "pledge_id = \(bind: pledgeId)", on: $0) }
    }

    public func find(providerPaymentId: String) async throws -> Payment? {
        try await database.withConnection { try await Self.fetch(where: "provider_payment_id = \(bind: providerPaymentId)", on: $0) }
    }

    public func list(userId: UserID?, pledgeId: PledgeID?, limit: Int, after cursor: PageCursor?) async throws -> [Payment] {
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
    public func discardRefused(paymentId: PaymentID, pledgeId: PledgeID, at time: String) async throws -> Int {
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
            try await Self.insertEvent(event, result: result, on: db, now: clock.timestamp())
        }
    }

    static func insertEvent(_ event: ProviderEventRecord, result: String, on db: any SQLDatabase, now: String) async throws -> Bool {
        try await !db.raw("""
            INSERT INTO provider_events (id, type, payment_intent_id, result, received_at)
            VALUES (\(bind: event.id), \(bind: event.type), \(bind: event.paymentIntentId), \(bind: result), \(bind: now))
            ON CONFLICT (id) DO NOTHING
            RETURNING id
            """).all().isEmpty
    }

    static func fetch(where condition: SQLQueryString, on db: any SQLDatabase) async throws -> Payment? {
        try await db.raw("SELECT \(columns) FROM payments WHERE \(condition)").first().map(payment)
    }

    static func payment(_ row: any SQLRow) throws -> Payment {
        let amount = try row.decodeMoney()
        return Payment(
            id: try row.decode(column: "id", known: PaymentID.self),
            pledgeId: try row.decode(column: "pledge_id", known: PledgeID.self),
            campaignId: try row.decode(column: "campaign_id", known: CampaignID.self),
            userId: try row.decode(column: "user_id", known: UserID?.self),
            receiptTokenHash: try row.decode(column: "receipt_token_hash", as: String?.self),
            amount: amount,
            status: try row.decode(column: "status", known: PledgeStatus.self),
            provider: try row.decode(column: "provider", as: String.self),
            providerPaymentId: try row.decode(column: "provider_payment_id", as: String?.self),
            paymentMethod: try row.decode(column: "payment_method", as: String.self),
            chargeKey: try row.decode(column: "charge_key", as: String.self),
            clientSecret: try row.decode(column: "client_secret", as: String?.self),
            failureReason: try row.decode(column: "failure_reason", as: String?.self),
            createdAt: try row.decode(column: "created_at", as: String.self),
            updatedAt: try row.decode(column: "updated_at", as: String.self),
            refundedAmount: amount.with(minorUnits: try row.decode(column: "refunded_amount", as: Int64.self)),
            traceParent: try row.decode(column: "trace_parent", as: String?.self)
        )
    }
}

enum PaymentStoreError: Error {
    /// A row the transaction had just seen or written was gone: its id (a payment's or a pledge's).
    case vanished(String)

    static func vanished<Kind>(_ id: Identifier<Kind>) -> Self { .vanished(id.rawValue) }
}
