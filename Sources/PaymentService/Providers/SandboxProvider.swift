import Crypto
import Signatures
import Contracts
import Foundation
import Persistence
import SQLKit

/// The `sandbox_intents` table: the sandbox keeps its intents in the service's own database, so a
/// restart loses nothing.
public enum SandboxSchema {
    public static let migration = SQLMigration(name: "sandbox_001_create_intents", [
        """
        CREATE TABLE sandbox_intents (
            id TEXT PRIMARY KEY,
            idempotency_key TEXT NOT NULL UNIQUE,
            amount BIGINT NOT NULL,
            currency TEXT NOT NULL,
            status TEXT NOT NULL,
            payment_method TEXT NOT NULL,
            pledge_id TEXT,
            failure_reason TEXT,
            client_secret TEXT NOT NULL,
            created_at TEXT NOT NULL,
            updated_at TEXT NOT NULL
        )
        """,
    ])

    /// The sandbox's refunds, one row each, keyed like Stripe's by the idempotency key.
    public static let refunds = SQLMigration(name: "sandbox_002_create_refunds", [
        """
        CREATE TABLE sandbox_refunds (
            id TEXT PRIMARY KEY,
            intent_id TEXT NOT NULL,
            idempotency_key TEXT UNIQUE,
            amount BIGINT NOT NULL,
            refund_ref TEXT,
            created_at TEXT NOT NULL
        )
        """,
        "CREATE INDEX sandbox_refunds_intent ON sandbox_refunds (intent_id)",
    ])
}

/// A provider that behaves like Stripe test mode, for local runs and tests: `pm_card_visa` is
/// authorized (and captured on request), `pm_card_visa_chargeDeclined` and
/// `pm_card_chargeDeclined` are declined. Like Stripe, a create repeated with the same
/// idempotency key returns the first intent.
public struct SandboxProvider: PaymentProvider {
    let database: any DatabaseClient
    /// Where the sandbox sends its webhooks, as Stripe would; nil sends none.
    let webhooks: SandboxWebhookSender?

    public static let approvingMethods: Set<String> = ["pm_card_visa", "pm_card_mastercard"]
    public static let decliningMethods: Set<String> = ["pm_card_visa_chargeDeclined", "pm_card_chargeDeclined", "pm_card_chargeCustomerFail"]

    let clock: any StoreClock

    public var name: String { "sandbox" }

    public init(database: any DatabaseClient, clock: any StoreClock, webhooks: SandboxWebhookSender? = nil) {
        self.database = database
        self.clock = clock
        self.webhooks = webhooks
    }

    public func createIntent(
        amount: Int64, currency: Currency, paymentMethod: String, metadata: [String: String], idempotencyKey: String
    ) async throws -> ProviderIntent {
        let declined = Self.decliningMethods.contains(paymentMethod)
        guard declined || Self.approvingMethods.contains(paymentMethod) else { throw ProviderError.noSuchPaymentMethod(paymentMethod) }
        let now = clock.timestamp()
        let id = "pi_sandbox_" + Self.randomToken(12)
        let status: PaymentIntentStatus = declined ? .requiresPaymentMethod : .requiresCapture
        let failure: String? = declined ? "card_declined" : nil
        // One statement: a concurrent create under the same key waits for this one, then does nothing.
        let (intent, created) = try await database.withConnection { db -> (ProviderIntent, Bool) in
            if let inserted = try await db.raw("""
                INSERT INTO sandbox_intents (id, idempotency_key, amount, currency, status, payment_method, pledge_id, failure_reason,
                                             client_secret, created_at, updated_at)
                VALUES (\(bind: id), \(bind: idempotencyKey), \(bind: amount), \(bind: currency.rawValue.lowercased()), \(bind: status.rawValue),
                        \(bind: paymentMethod), \(bind: metadata["pledge_id"]), \(bind: failure), \(bind: "\(id)_secret_\(Self.randomToken(12))"),
                        \(bind: now), \(bind: now))
                ON CONFLICT (idempotency_key) DO NOTHING
                RETURNING \(Self.columns)
                """).first() {
                return (try Self.intent(inserted), true)
            }
            // The first intent made under this key, by an earlier call.
            guard let first = try await Self.fetch(where: "idempotency_key = \(bind: idempotencyKey)", on: db) else {
                throw ProviderError.unavailable("the intent of key \(idempotencyKey) vanished")
            }
            return (first, false)
        }
        if created {
            webhooks?.send(type: declined ? "payment_intent.payment_failed" : "payment_intent.amount_capturable_updated", intent: intent)
        }
        return intent
    }

    public func capture(intentId: String, idempotencyKey: String) async throws -> ProviderIntent {
        // Conditional: only an intent that requires capture moves, so concurrent captures move it once.
        let (intent, captured) = try await database.withConnection { db -> (ProviderIntent, Bool) in
            if let moved = try await db.raw("""
                UPDATE sandbox_intents SET status = 'succeeded', updated_at = \(bind: clock.timestamp())
                WHERE id = \(bind: intentId) AND status = 'requires_capture'
                RETURNING \(Self.columns)
                """).first() {
                return (try Self.intent(moved), true)
            }
            guard let intent = try await Self.fetch(where: "id = \(bind: intentId)", on: db) else { throw ProviderError.noSuchIntent(intentId) }
            guard intent.status == .succeeded else { throw ProviderError.cannotCapture(intent.status) }
            return (intent, false)  // captured already: a retried capture is harmless
        }
        if captured { webhooks?.send(type: "payment_intent.succeeded", intent: intent) }
        return intent
    }

    public func retrieve(intentId: String) async throws -> ProviderIntent {
        try await database.withConnection { db in
            guard let intent = try await Self.fetch(where: "id = \(bind: intentId)", on: db) else { throw ProviderError.noSuchIntent(intentId) }
            return intent
        }
    }

    public func findIntent(idempotencyKey: String, pledgeId: String) async throws -> ProviderIntent? {
        try await database.withConnection { db in
            try await Self.fetch(where: "idempotency_key = \(bind: idempotencyKey)", on: db)
        }
    }

    /// Refunds part or all of a succeeded intent, never more than is left of it; the same key
    /// again returns the first refund. Sends `charge.refunded` with the new cumulative amount.
    public func refund(intentId: String, amount: Int64, metadata: [String: String], idempotencyKey: String) async throws -> ProviderRefund {
        let dialect = database.dialect
        let (refund, intent, refunded, created) = try await database.transaction { db -> (ProviderRefund, ProviderIntent, Int64, Bool) in
            // The intent's row lock orders concurrent refunds of it (SQLite's writers take turns anyway).
            let lock = dialect.rowLock
            guard let intent = try await db.raw("SELECT \(Self.columns) FROM sandbox_intents WHERE id = \(bind: intentId)\(lock)").first().map(Self.intent)
            else { throw ProviderError.noSuchIntent(intentId) }
            if let first = try await db.raw("""
                SELECT id, amount, refund_ref FROM sandbox_refunds WHERE idempotency_key = \(bind: idempotencyKey)
                """).first().map(Self.refund) {
                return (first, intent, try await Self.refunded(intentId, on: db), false)
            }
            guard intent.status == .succeeded else {
                throw ProviderError.refused(status: 400, message: "the PaymentIntent \(intentId) has no successful charge to refund")
            }
            let before = try await Self.refunded(intentId, on: db)
            guard amount > 0, amount <= intent.amount - before else {
                throw ProviderError.refused(status: 400, message: "refund amount (\(amount)) is greater than unrefunded amount on charge (\(intent.amount - before))")
            }
            let refund = ProviderRefund(id: "re_sandbox_" + Self.randomToken(12), amount: amount, status: "succeeded", refundId: metadata["refund_id"])
            try await db.raw("""
                INSERT INTO sandbox_refunds (id, intent_id, idempotency_key, amount, refund_ref, created_at)
                VALUES (\(bind: refund.id), \(bind: intentId), \(bind: idempotencyKey), \(bind: amount), \(bind: refund.refundId), \(bind: clock.timestamp()))
                """).run()
            return (refund, intent, before + amount, true)
        }
        if created { webhooks?.send(type: "charge.refunded", charge: intent, amountRefunded: refunded) }
        return refund
    }

    public func refunds(intentId: String) async throws -> [ProviderRefund] {
        try await database.withConnection { db in
            try await db.raw("SELECT id, amount, refund_ref FROM sandbox_refunds WHERE intent_id = \(bind: intentId) ORDER BY created_at, id")
                .all().map(Self.refund)
        }
    }

    static func refunded(_ intentId: String, on db: any SQLDatabase) async throws -> Int64 {
        try await db.raw("SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS total FROM sandbox_refunds WHERE intent_id = \(bind: intentId)")
            .first()?.decode(column: "total", as: Int64.self) ?? 0
    }

    static func refund(_ row: any SQLRow) throws -> ProviderRefund {
        ProviderRefund(
            id: try row.decode(column: "id", as: String.self), amount: try row.decode(column: "amount", as: Int64.self), status: "succeeded",
            refundId: try row.decode(column: "refund_ref", as: String?.self)
        )
    }

    static let columns: SQLQueryString = "id, status, amount, currency, pledge_id, failure_reason, client_secret"

    static func fetch(where condition: SQLQueryString, on db: any SQLDatabase) async throws -> ProviderIntent? {
        try await db.raw("SELECT \(columns) FROM sandbox_intents WHERE \(condition)").first().map(intent)
    }

    static func intent(_ row: any SQLRow) throws -> ProviderIntent {
        ProviderIntent(
            id: try row.decode(column: "id", as: String.self),
            status: try row.decode(column: "status", known: PaymentIntentStatus.self),
            amount: try row.decode(column: "amount", as: Int64.self),
            currency: try row.decode(column: "currency", as: String.self),
            pledgeId: try row.decode(column: "pledge_id", as: String?.self),
            failureReason: try row.decode(column: "failure_reason", as: String?.self),
            clientSecret: try row.decode(column: "client_secret", as: String.self)
        )
    }

    static func randomToken(_ bytes: Int) -> String {
        SymmetricKey(size: .init(bitCount: bytes * 8)).withUnsafeBytes { Hex.encode($0) }
    }
}
