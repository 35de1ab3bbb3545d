import Contracts
import Logging
import Observability
import CoreMetrics

/// Settles a payment by what the provider says of its intent. Every path that learns something
/// about an intent (the create answer, a webhook, the recovery service) calls `settle`, and only
/// the provider's own answer is ever acted on, so a forged, stale or reordered message cannot
/// move money. The call that moves a payment to AUTHORIZED captures it at once; a capture that
/// never happened (a crash, a provider error) is the recovery service's.
public struct PaymentReconciler: Sendable {
    let store: any PaymentStore
    let provider: any PaymentProvider
    let metrics: ServiceMetrics
    let logger: Logger

    public init(store: any PaymentStore, provider: any PaymentProvider, metrics: ServiceMetrics, logger: Logger) {
        self.store = store
        self.provider = provider
        self.metrics = metrics
        self.logger = logger
    }

    /// Applies `intent` to `payment` (recording `event` in the same transaction), then captures
    /// an authorization this call made, or any authorization when `captureAuthorized` (recovery).
    /// Returns the result of the first step and the payment as it ends up.
    @discardableResult
    public func settle(
        _ payment: Payment, with intent: ProviderIntent, event: ProviderEventRecord? = nil, traceParent: String? = nil,
        captureAuthorized: Bool = false
    ) async throws -> (IngestResult, Payment) {
        var logger = logger
        logger[metadataKey: "payment_id"] = .string(payment.id.rawValue)
        logger[metadataKey: "pledge_id"] = .string(payment.pledgeId.rawValue)
        logger[metadataKey: "intent_id"] = .string(intent.id)
        guard Self.matches(payment, intent) else {
            // Never act on an intent that is not this payment's, whatever the message claimed.
            logger.error("provider intent does not match the payment; ignored", metadata: [
                "intent_amount": .stringConvertible(intent.amount), "intent_currency": .string(intent.currency),
            ])
            if let event { _ = try await store.recordEvent(event, result: "mismatch") }
            return (.ignored, payment)
        }
        let target = intent.pledgeStatus
        var (result, updated) = (IngestResult.ignored, payment)
        if payment.providerPaymentId == intent.id, target.map({ !payment.status.canAdvance(to: $0) }) ?? true {
            // Already known and nothing to move (the usual webhook after the create answered): no transaction.
            if let event, try await !store.recordEvent(event, result: "ignored") { result = .duplicate }
        } else {
            (result, updated) = try await store.settle(
                payment,
                with: Settlement(intentId: intent.id, clientSecret: intent.clientSecret, status: target, failureReason: intent.failureReason),
                traceParent: traceParent, event: event
            )
        }
        if let target { record(result, from: payment.status, to: target, payment: updated, logger: logger) }
        let authorizedHere = result == .applied && target == .authorized
        if updated.status == .authorized && intent.status == .requiresCapture && (authorizedHere || captureAuthorized) {
            return (result, try await capture(updated, intentId: intent.id, traceParent: traceParent, logger: logger))
        }
        return (result, updated)
    }

    /// Captures an authorized payment and settles the answer. When the capture fails the provider
    /// is asked again, since a concurrent capture may have won; otherwise recovery tries later.
    func capture(_ payment: Payment, intentId: String, traceParent: String?, logger: Logger) async throws -> Payment {
        var answer: ProviderIntent
        do {
            answer = try await provider.capture(intentId: intentId, idempotencyKey: "capture-" + payment.chargeKey)
        } catch {
            logger.warning("capture failed; asking the provider", metadata: ["error": "\(error)"])
            guard let current = try? await provider.retrieve(intentId: intentId), current.status != .requiresCapture else { return payment }
            answer = current
        }
        guard let status = answer.pledgeStatus else { return payment }
        let (result, updated) = try await store.settle(
            payment, with: Settlement(intentId: intentId, status: status, failureReason: answer.failureReason),
            traceParent: traceParent, event: nil
        )
        record(result, from: payment.status, to: status, payment: updated, logger: logger)
        return updated
    }

    /// Records the provider's refunds of `payment` (all of them: their sum is its cumulative
    /// refunded amount), with `event` if a webhook brought the news.
    @discardableResult
    public func recordRefunds(
        _ payment: Payment, provider refunds: [ProviderRefund], event: ProviderEventRecord? = nil, traceParent: String?, logger: Logger? = nil
    ) async throws -> (IngestResult, Payment) {
        let (result, updated) = try await store.recordRefunds(payment, provider: refunds, traceParent: traceParent, event: event)
        metrics.counter(.paymentRefundUpdatesTotal, [("result", result.rawValue)]).increment()
        if result == .applied {
            (logger ?? self.logger).info("payment refunded", metadata: [
                "payment_id": .string(payment.id.rawValue), "pledge_id": .string(payment.pledgeId.rawValue),
                "refunded_amount": .stringConvertible(updated.refundedAmount), "status": .string(updated.status.rawValue),
            ])
        }
        return (result, updated)
    }

    /// Asks the provider for the payment's refunds and records them: how a `charge.refunded`
    /// webhook (a refund made in the provider's dashboard, or the echo of ours) is reconciled.
    @discardableResult
    public func reconcileRefunds(_ payment: Payment, event: ProviderEventRecord? = nil, traceParent: String?) async throws -> (IngestResult, Payment) {
        guard let intentId = payment.providerPaymentId else {
            if let event { _ = try await store.recordEvent(event, result: "ignored") }
            return (.ignored, payment)
        }
        return try await recordRefunds(payment, provider: try await provider.refunds(intentId: intentId), event: event, traceParent: traceParent)
    }

    func record(_ result: IngestResult, from: PledgeStatus, to: PledgeStatus, payment: Payment, logger: Logger) {
        metrics.counter(.paymentTransitionsTotal, [("result", result.rawValue), ("to", to.rawValue)]).increment()
        if result == .applied && to == .captured {
            // Money captured, in minor units per currency: the dashboard's "captured amount".
            metrics.counter(.paymentsCapturedMinorUnitsTotal, [("currency", payment.currency.rawValue)]).increment(by: Int(payment.amount.minorUnits))
        }
        if result == .applied {
            logger.info("payment status changed", metadata: ["from": .string(from.rawValue), "to": .string(to.rawValue)])
        } else {
            logger.debug("payment status unchanged", metadata: ["reported": .string(to.rawValue), "result": .string(result.rawValue)])
        }
    }

    /// The same amount and currency, the same pledge, and the intent the payment already has (if any).
    static func matches(_ payment: Payment, _ intent: ProviderIntent) -> Bool {
        intent.amount == payment.amount.minorUnits
            && intent.currency.lowercased() == payment.currency.rawValue.lowercased()
            && (intent.pledgeId == nil || intent.pledgeId == payment.pledgeId.rawValue)
            && (payment.providerPaymentId == nil || payment.providerPaymentId == intent.id)
    }
}
