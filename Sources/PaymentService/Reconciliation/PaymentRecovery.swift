import Foundation
import Logging
import Observability
import Persistence
import ServiceLifecycle
import CoreMetrics
import Contracts

/// Tuning for the recovery service.
public struct PaymentRecoveryConfig: Sendable {
    /// How often unsettled payments are looked at.
    public var interval: Duration = .seconds(15)
    /// How long a payment may stay PENDING or AUTHORIZED before it is reconciled here. Longer
    /// than a provider call may take, so a request still waiting on the provider is left alone.
    public var settleAfter: Duration = .seconds(60)
    public var batchSize = 50

    public init() {}
}

/// Settles what webhooks did not: payments still PENDING or AUTHORIZED after `settleAfter`
/// (a lost webhook, a crash mid-capture, a crash between the provider call and recording its
/// answer) are reconciled against the provider. A payment without an intent id is looked up by
/// its charge key first, so an intent the provider made before a crash is recovered, never made
/// again; only when the provider has none is the create sent (again, under the same key).
public struct PaymentRecovery: Service {
    let store: any PaymentStore
    let provider: any PaymentProvider
    let reconciler: PaymentReconciler
    let config: PaymentRecoveryConfig
    let clock: any StoreClock
    let metrics: ServiceMetrics
    let logger: Logger

    public init(
        store: any PaymentStore, provider: any PaymentProvider, reconciler: PaymentReconciler, config: PaymentRecoveryConfig,
        clock: any StoreClock, metrics: ServiceMetrics, logger: Logger
    ) {
        self.store = store
        self.clock = clock
        self.provider = provider
        self.reconciler = reconciler
        self.config = config
        self.metrics = metrics
        self.logger = logger
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                try await recoverOnce()
            } catch {
                logger.error("payment recovery round failed", metadata: ["error": "\(error)"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: self.config.interval) }
        }
    }

    /// One round; returns how many payments it looked at.
    @discardableResult
    public func recoverOnce() async throws -> Int {
        let cutoff = Timestamp.format(clock.now().addingTimeInterval(-Double(config.settleAfter.components.seconds)))
        let stale = try await store.unsettled(changedBefore: cutoff, limit: config.batchSize)
        metrics.gauge(.paymentsUnsettledStale).record(stale.count)
        for payment in stale {
            // Stopping: the payment in hand is finished, the rest wait for the next process.
            if Task.isShuttingDownGracefully { break }
            do {
                // Recovery continues the trace the payment was created under.
                try await Trace.span("payment.recover", parent: payment.traceParent) { span in
                    span.set("payment_id", payment.id.rawValue)
                    var payment = payment
                    if let traceParent = span.traceParent { payment.traceParent = traceParent }
                    try await recover(payment)
                }
            } catch {
                logger.warning("payment not recovered yet", metadata: ["payment_id": .string(payment.id.rawValue), "error": "\(error)"])
            }
        }
        return stale.count
    }

    func recover(_ payment: Payment) async throws {
        let intent: ProviderIntent
        if let intentId = payment.providerPaymentId {
            intent = try await provider.retrieve(intentId: intentId)
        } else if let found = try await provider.findIntent(idempotencyKey: payment.chargeKey, pledgeId: payment.pledgeId.rawValue) {
            intent = found
            metrics.counter(.paymentsRecoveredTotal, [("how", "found")]).increment()
        } else {
            // The provider never got the create: send it now, under the same key.
            do {
                intent = try await provider.createIntent(
                    amount: payment.amount.minorUnits, currency: payment.currency, paymentMethod: payment.paymentMethod,
                    metadata: ["pledge_id": payment.pledgeId.rawValue, "charge_key": payment.chargeKey], idempotencyKey: payment.chargeKey
                )
            } catch ProviderError.noSuchPaymentMethod {
                // It never can succeed: settle it as failed rather than asking again every round.
                _ = try await store.settle(
                    payment, with: Settlement(intentId: nil, status: .failed, failureReason: "invalid_payment_method"),
                    traceParent: payment.traceParent, event: nil
                )
                metrics.counter(.paymentsRecoveredTotal, [("how", "failed")]).increment()
                return
            }
            metrics.counter(.paymentsRecoveredTotal, [("how", "created")]).increment()
        }
        logger.info("reconciling an unsettled payment", metadata: [
            "payment_id": .string(payment.id.rawValue), "status": .string(payment.status.rawValue), "intent_status": .string(intent.status.rawValue),
        ])
        try await reconciler.settle(payment, with: intent, traceParent: payment.traceParent, captureAuthorized: true)
    }
}
