import Events
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
        return try OutboxEntry(event, destination: campaignEvents)
    }

    /// The status notice for pledge-service's payment webhook: the payment's status, its failure
    /// reason, and what it has refunded (once anything is).
    static func notice(for payment: Payment, traceParent: String?, now: String) throws -> OutboxEntry {
        let notice = PaymentStatusNotice(
            eventId: UUID().uuidString.lowercased(), pledgeId: payment.pledgeId, paymentId: payment.id, status: payment.status,
            occurredAt: now, reason: payment.status == .failed ? payment.failureReason : nil, traceParent: traceParent,
            refundedAmount: payment.refundedAmount > 0 ? payment.refundedAmount : nil
        )
        return OutboxEntry(
            id: notice.eventId, type: "PAYMENT_STATUS_NOTICE", payload: String(decoding: try PlainJSON.encoder.encode(notice), as: UTF8.self),
            traceParent: traceParent, destination: pledgeWebhook
        )
    }
}
