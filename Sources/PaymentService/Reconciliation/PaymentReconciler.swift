import Events
import Logging
import Observability
import CoreMetrics

/// Brings a payment to what the provider says of its intent. Every path that learns something
/// about an intent (the create answer, a webhook, the recovery service) goes through here, and
/// only the provider's own answer is ever acted on, so a forged, stale or reordered message
/// cannot move money. An authorization is captured at once.
public struct PaymentReconciler: Sendable {
    let store: SQLPaymentStore
    let provider: any PaymentProvider
    let metrics: ServiceMetrics
    let logger: Logger

    public init(store: SQLPaymentStore, provider: any PaymentProvider, metrics: ServiceMetrics, logger: Logger) {
        self.store = store
        self.provider = provider
        self.metrics = metrics
        self.logger = logger
    }

    /// Applies `intent` to `payment` (recording `event` in the same transaction), then captures
    /// an authorization. Returns the result of the first step and the payment as it ends up.
    @discardableResult
    public func reconcile(
        _ payment: Payment, with intent: ProviderIntent, event: ProviderEventRecord? = nil, traceParent: String? = nil
    ) async throws -> (AdvanceResult, Payment) {
        var logger = logger
        logger[metadataKey: "payment_id"] = .string(payment.id)
        logger[metadataKey: "pledge_id"] = .string(payment.pledgeId)
        logger[metadataKey: "intent_id"] = .string(intent.id)
        guard Self.matches(payment, intent) else {
            // Never act on an intent that is not this payment's, whatever the message claimed.
            logger.error("provider intent does not match the payment; ignored", metadata: [
                "intent_amount": .stringConvertible(intent.amount), "intent_currency": .string(intent.currency),
            ])
            if let event { try await store.recordEvent(event, result: "mismatch") }
            return (.ignored, payment)
        }
        guard let target = intent.pledgeStatus else {
            // Nothing settled yet (processing, awaiting confirmation).
            if let event, try await !store.recordEvent(event, result: "ignored") { return (.duplicate, payment) }
            return (.ignored, payment)
        }
        let (result, updated) = try await store.advance(
            paymentId: payment.id, to: target, intentId: intent.id, reason: intent.failureReason, traceParent: traceParent, event: event
        )
        record(result, from: payment.status, to: target, payment: updated, logger: logger)
        guard result != .duplicate else { return (result, updated) }
        if updated.status == .authorized && intent.status == .requiresCapture {
            return (result, try await capture(updated, intentId: intent.id, traceParent: traceParent, logger: logger))
        }
        return (result, updated)
    }

    /// Captures an authorized payment and applies the answer. A capture that fails is left to
    /// the next webhook or the recovery service; the provider is asked again first, since a
    /// concurrent capture may have won.
    func capture(_ payment: Payment, intentId: String, traceParent: String?, logger: Logger) async throws -> Payment {
        let captured: ProviderIntent
        do {
            captured = try await provider.capture(intentId: intentId, idempotencyKey: "capture-" + payment.chargeKey)
        } catch {
            logger.warning("capture failed; asking the provider", metadata: ["error": "\(error)"])
            guard let current = try? await provider.retrieve(intentId: intentId), current.status != .requiresCapture,
                let status = current.pledgeStatus
            else { return payment }
            let (result, updated) = try await store.advance(
                paymentId: payment.id, to: status, intentId: intentId, reason: current.failureReason, traceParent: traceParent
            )
            record(result, from: payment.status, to: status, payment: updated, logger: logger)
            return updated
        }
        guard let status = captured.pledgeStatus else { return payment }
        let (result, updated) = try await store.advance(
            paymentId: payment.id, to: status, intentId: intentId, reason: captured.failureReason, traceParent: traceParent
        )
        record(result, from: payment.status, to: status, payment: updated, logger: logger)
        return updated
    }

    func record(_ result: AdvanceResult, from: PledgeStatus, to: PledgeStatus, payment: Payment, logger: Logger) {
        metrics.counter("payment_transitions_total", [("result", result.rawValue), ("to", to.rawValue)]).increment()
        if result == .applied && to == .captured {
            // Money captured, in minor units per currency: the dashboard's "captured amount".
            metrics.counter("payments_captured_minor_units_total", [("currency", payment.currency.rawValue)]).increment(by: Int(payment.amount))
        }
        if result == .applied {
            logger.info("payment status changed", metadata: ["from": .string(from.rawValue), "to": .string(to.rawValue)])
        } else {
            logger.debug("payment status unchanged", metadata: ["reported": .string(to.rawValue), "result": .string(result.rawValue)])
        }
    }

    /// The same amount and currency, the same pledge, and the intent the payment already has (if any).
    static func matches(_ payment: Payment, _ intent: ProviderIntent) -> Bool {
        intent.amount == payment.amount
            && intent.currency.lowercased() == payment.currency.rawValue.lowercased()
            && (intent.pledgeId == nil || intent.pledgeId == payment.pledgeId)
            && (payment.providerPaymentId == nil || payment.providerPaymentId == intent.id)
    }
}
