import Contracts
import Foundation
import HTTPSupport
import Outbox
import Persistence
import SQLKit

/// Settling a payment: the one place where a payment's status moves (`settle`, called by the
/// create answer, the webhooks and recovery alike), and the outbox rows each move writes with it.
extension SQLPaymentStore {
    /// Thrown inside `settle`'s transaction to roll it back when its provider event was recorded before.
    struct DuplicateProviderEvent: Error {}

    public func settle(_ payment: Payment, with settlement: Settlement, traceParent: String?, event: ProviderEventRecord?) async throws
        -> (IngestResult, Payment)
    {
        let now = clock.timestamp()
        if event == nil, let status = settlement.status {
            return try await move(payment, to: status, with: settlement, traceParent: traceParent, now: now)
        }
        let paymentId = payment.id
        do {
            let outcome = try await database.transaction { db -> (IngestResult, Payment) in
                // The move up is one conditional UPDATE: its row lock orders concurrent settlements
                // of the payment, and of any number of them exactly one matches a lower status.
                var moved: Payment?
                if let status = settlement.status {
                    moved = try await db.raw(Self.moveStatement(paymentId, to: status, settlement, now: now)).first().map(Self.payment)
                }
                let current: Payment
                if let moved {
                    current = moved
                    try await Outbox.enqueue(try Self.events(for: moved, traceParent: traceParent, now: now), on: db, now: now)
                } else {
                    current = try await Self.recordIntent(paymentId, settlement, on: db)
                }
                let result: IngestResult = moved == nil ? .ignored : .applied
                if let event, try await !Self.insertEvent(event, result: result.rawValue, on: db, now: now) {
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

    /// No provider event to record: the conditional UPDATE and its outbox rows commit together
    /// (`updateThenInsert`: one statement on PostgreSQL, one transaction on SQLite). The rows are
    /// made from the caller's copy of the payment, whose amount, pledge and campaign never
    /// change, and are written only if the update matched.
    func move(_ payment: Payment, to status: PledgeStatus, with settlement: Settlement, traceParent: String?, now: String)
        async throws -> (IngestResult, Payment)
    {
        var expected = payment
        expected.status = status
        expected.failureReason = status == .failed ? (settlement.failureReason ?? "payment_failed") : nil
        let rows = Outbox.rows(try Self.events(for: expected, traceParent: traceParent, now: now), now: now)
        if let moved = try await database.updateThenInsert(Self.moveStatement(payment.id, to: status, settlement, now: now), insert: rows) {
            signal.notify()
            return (.applied, try Self.payment(moved))
        }
        // Nothing moved; the intent id is still recorded if the payment has none yet.
        return (.ignored, try await database.withConnection { try await Self.recordIntent(payment.id, settlement, on: $0) })
    }

    /// The move up: only from a status `status` ranks above.
    static func moveStatement(_ paymentId: PaymentID, to status: PledgeStatus, _ settlement: Settlement, now: String) -> SQLQueryString {
        """
        UPDATE payments SET \(assignments(status, settlement, now: now))
        WHERE id = \(bind: paymentId) AND status IN (\(binds: ranksBelow(status)))
        RETURNING \(columns)
        """
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
    static func recordIntent(_ paymentId: PaymentID, _ settlement: Settlement, on db: any SQLDatabase) async throws -> Payment {
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
                paymentId: payment.id, pledgeId: payment.pledgeId, campaignId: payment.campaignId, amount: payment.amount.minorUnits, currency: payment.currency
            ))
        case .failed:
            .paymentFailed(PaymentFailed(
                paymentId: payment.id, pledgeId: payment.pledgeId, campaignId: payment.campaignId, amount: payment.amount.minorUnits,
                currency: payment.currency, error: payment.failureReason
            ))
        case .pending, .authorized:
            nil
        case .refunded:
            // Never a settlement: refunds move a payment in `recordRefunds`, with their own events.
            nil
        }
        var entries: [OutboxEntry] = []
        if let data { entries.append(try campaignEvent(data, traceParent: traceParent, now: now)) }
        entries.append(try notice(for: payment, traceParent: traceParent, now: now))
        return entries
    }

    /// An event for campaign-service's ingestion, in its envelope.
    static func campaignEvent(_ data: EventData, traceParent: String?, now: String) throws -> OutboxEntry {
        let event = EventEnvelope(
            eventId: UUID().uuidString.lowercased(), type: data.type, source: "payment-service", occurredAt: now, traceParent: traceParent, data: data
        )
        return try OutboxEntry(event, destination: .campaignEvents)
    }

    /// The status notice for pledge-service's payment webhook: the payment's status, its failure
    /// reason, and what it has refunded (once anything is).
    static func notice(for payment: Payment, traceParent: String?, now: String) throws -> OutboxEntry {
        try OutboxEntry(PaymentStatusNotice(
            eventId: UUID().uuidString.lowercased(), pledgeId: payment.pledgeId, paymentId: payment.id, status: payment.status,
            occurredAt: now, reason: payment.status == .failed ? payment.failureReason : nil, traceParent: traceParent,
            refundedAmount: payment.refundedAmount.isPositive ? payment.refundedAmount.minorUnits : nil
        ))
    }
}
