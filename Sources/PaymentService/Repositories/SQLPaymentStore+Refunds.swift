import Contracts
import Foundation
import HTTPSupport
import Outbox
import Persistence
import SQLKit

/// Refunds: reserving an admin's refund against what is left of the payment, and recording what
/// the provider says its refunds are, the one place a payment's refunded amount moves.
extension SQLPaymentStore {
    static let refundColumns: SQLQueryString = """
        id, payment_id, amount, currency, reason, status, provider_refund_id, idempotency_key, request_hash, failure_reason, requested_by,
        created_at, updated_at
        """

    public func reserveRefund(_ request: RefundRequest) async throws -> RefundReservation {
        let lock = database.dialect.rowLock
        return try await database.transaction { db in
            // The payment's row lock orders every refund of it: each sees the ones before it.
            guard let payment = try await db.raw("SELECT \(Self.columns) FROM payments WHERE id = \(bind: request.paymentId)\(lock)")
                .first().map(Self.payment)
            else { return .paymentNotFound }
            if let earlier = try await db.raw("""
                SELECT \(Self.refundColumns) FROM refunds
                WHERE payment_id = \(bind: request.paymentId) AND idempotency_key = \(bind: request.idempotencyKey)
                """).first().map(Self.refund) {
                return earlier.requestHash == request.requestHash ? .existing(earlier, payment) : .keyReused
            }
            guard payment.status == .captured else { return .notRefundable(payment.status) }
            // What is left: the payment less the larger of what the provider counts and what is
            // asked for here (succeeded and pending), so two admins cannot refund the same money.
            let asked = try await db.raw("""
                SELECT CAST(COALESCE(SUM(amount), 0) AS BIGINT) AS total FROM refunds WHERE payment_id = \(bind: payment.id) AND status IN ('PENDING', 'SUCCEEDED')
                """).first()?.decode(column: "total", as: Int64.self) ?? 0
            let left = payment.amount - max(payment.amount.with(minorUnits: asked), payment.refundedAmount)
            guard left.isPositive else { return .notRefundable(.refunded) }
            let amount = request.amount.map(left.with(minorUnits:)) ?? left
            guard amount <= left else { return .exceedsPayment(left: left) }
            let refund = Refund(
                id: request.id, paymentId: payment.id, amount: amount, reason: request.reason, status: .pending,
                providerRefundId: nil, idempotencyKey: request.idempotencyKey, requestHash: request.requestHash, failureReason: nil,
                requestedBy: request.requestedBy, createdAt: request.now, updatedAt: request.now
            )
            try await Self.insert(refund, on: db)
            return .reserved(refund, payment)
        }
    }

    public func refunds(paymentId: PaymentID) async throws -> [Refund] {
        try await database.withConnection { db in
            try await db.raw("SELECT \(Self.refundColumns) FROM refunds WHERE payment_id = \(bind: paymentId) ORDER BY created_at, id")
                .all().map(Self.refund)
        }
    }

    public func refund(id: String) async throws -> Refund? {
        try await database.withConnection { db in
            try await db.raw("SELECT \(Self.refundColumns) FROM refunds WHERE id = \(bind: id)").first().map(Self.refund)
        }
    }

    public func failRefund(id: String, reason: String, at time: String) async throws -> Refund? {
        try await database.withConnection { db in
            try await db.raw("""
                UPDATE refunds SET status = 'FAILED', failure_reason = \(bind: reason), updated_at = \(bind: time)
                WHERE id = \(bind: id) AND status = 'PENDING'
                """).run()
            return try await db.raw("SELECT \(Self.refundColumns) FROM refunds WHERE id = \(bind: id)").first().map(Self.refund)
        }
    }

    public func recordRefunds(_ payment: Payment, provider refunds: [ProviderRefund], traceParent: String?, event: ProviderEventRecord?)
        async throws -> (IngestResult, Payment)
    {
        let now = clock.timestamp()
        let lock = database.dialect.rowLock
        do {
            let outcome = try await database.transaction { db -> (IngestResult, Payment) in
                guard let current = try await db.raw("SELECT \(Self.columns) FROM payments WHERE id = \(bind: payment.id)\(lock)")
                    .first().map(Self.payment)
                else { throw PaymentStoreError.vanished(payment.id) }
                for refund in refunds {
                    try await Self.record(refund, of: current, now: now, on: db)
                }
                // The provider's cumulative amount is the truth, and it only grows.
                let refunded = min(current.amount, current.amount.with(minorUnits: refunds.filter(\.succeeded).reduce(0) { $0 + $1.amount }))
                var result = IngestResult.ignored
                var updated = current
                if current.status == .captured, refunded > current.refundedAmount {
                    let status: PledgeStatus = refunded == current.amount ? .refunded : .captured
                    updated = try await db.raw("""
                        UPDATE payments SET refunded_amount = \(bind: refunded.minorUnits), status = \(bind: status.rawValue), updated_at = \(bind: now)
                        WHERE id = \(bind: current.id)
                        RETURNING \(Self.columns)
                        """).first().map(Self.payment) ?? current
                    let latest = refunds.last(where: \.succeeded)
                    let refundId = latest?.refundId ?? latest?.id ?? "unknown"
                    try await Outbox.enqueue(try Self.refundEvents(for: updated, refundId: refundId, traceParent: traceParent, now: now), on: db, now: now)
                    result = .applied
                }
                if let event, try await !Self.insertEvent(event, result: result.rawValue, on: db, now: now) {
                    throw DuplicateProviderEvent()
                }
                return (result, updated)
            }
            if outcome.0 == .applied { signal.notify() }
            return outcome
        } catch is DuplicateProviderEvent {
            guard let current = try await find(id: payment.id) else { throw PaymentStoreError.vanished(payment.id) }
            return (.duplicate, current)
        }
    }

    /// One provider refund: ours (by its provider id, or by the id in its metadata) takes the
    /// provider's status; one we have no row for gets one, unless it failed.
    static func record(_ refund: ProviderRefund, of payment: Payment, now: String, on db: any SQLDatabase) async throws {
        let status: RefundStatus = refund.succeeded ? .succeeded : refund.failed ? .failed : .pending
        let matched = try await db.raw("""
            UPDATE refunds SET status = \(bind: status.rawValue), provider_refund_id = \(bind: refund.id),
                   failure_reason = \(bind: refund.failed ? (refund.failureReason ?? refund.status) : nil), updated_at = \(bind: now)
            WHERE payment_id = \(bind: payment.id)
              AND (provider_refund_id = \(bind: refund.id) OR (provider_refund_id IS NULL AND id = \(bind: refund.refundId ?? "")))
            RETURNING id
            """).all()
        guard matched.isEmpty, !refund.failed else { return }
        try await insert(Refund(
            id: UUID().uuidString.lowercased(), paymentId: payment.id, amount: payment.amount.with(minorUnits: refund.amount),
            reason: "refunded at the provider", status: status, providerRefundId: refund.id, idempotencyKey: nil, requestHash: nil,
            failureReason: nil, requestedBy: nil, createdAt: now, updatedAt: now
        ), on: db)
    }

    static func insert(_ refund: Refund, on db: any SQLDatabase) async throws {
        try await db.raw("""
            INSERT INTO refunds (\(refundColumns))
            VALUES (\(bind: refund.id), \(bind: refund.paymentId), \(bind: refund.amount.minorUnits), \(bind: refund.amount.currency.rawValue), \(bind: refund.reason),
                    \(bind: refund.status.rawValue), \(bind: refund.providerRefundId), \(bind: refund.idempotencyKey), \(bind: refund.requestHash),
                    \(bind: refund.failureReason), \(bind: refund.requestedBy), \(bind: refund.createdAt), \(bind: refund.updatedAt))
            """).run()
    }

    /// `PAYMENT_REFUNDED` for campaign-service, and the notice that tells pledge-service the
    /// cumulative refunded amount.
    static func refundEvents(for payment: Payment, refundId: String, traceParent: String?, now: String) throws -> [OutboxEntry] {
        let data = EventData.paymentRefunded(PaymentRefunded(
            paymentId: payment.id, pledgeId: payment.pledgeId, campaignId: payment.campaignId, amount: payment.amount.minorUnits,
            refundedAmount: payment.refundedAmount.minorUnits, currency: payment.currency, refundId: refundId
        ))
        return [try campaignEvent(data, traceParent: traceParent, now: now), try notice(for: payment, traceParent: traceParent, now: now)]
    }

    static func refund(_ row: any SQLRow) throws -> Refund {
        Refund(
            id: try row.decode(column: "id", as: String.self),
            paymentId: try row.decode(column: "payment_id", known: PaymentID.self),
            amount: try row.decodeMoney(),
            reason: try row.decode(column: "reason", as: String.self),
            status: try row.decode(column: "status", known: RefundStatus.self),
            providerRefundId: try row.decode(column: "provider_refund_id", as: String?.self),
            idempotencyKey: try row.decode(column: "idempotency_key", as: String?.self),
            requestHash: try row.decode(column: "request_hash", as: String?.self),
            failureReason: try row.decode(column: "failure_reason", as: String?.self),
            requestedBy: try row.decode(column: "requested_by", as: String?.self),
            createdAt: try row.decode(column: "created_at", as: String.self),
            updatedAt: try row.decode(column: "updated_at", as: String.self)
        )
    }
}
