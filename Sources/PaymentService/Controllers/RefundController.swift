import Auth
import Contracts
import CoreMetrics
import Foundation
import HTTPSupport
import HTTPTypes
import Hummingbird
import Idempotency
import Logging
import NIOFoundationEssentialsCompat
import Observability
import Persistence

/// `POST /payments/{id}/refunds`: an admin refunds all or part of a captured payment.
///
/// The refund is reserved first (a PENDING row, under the admin's `Idempotency-Key`, never more
/// than is left), then asked of the provider under a key derived from the payment and the
/// admin's key, then recorded from the provider's own list of the payment's refunds. A retry
/// with the same key finds its row: done, it is answered again; still PENDING (the provider did
/// not answer, or the process died), the provider is asked again, after looking for a refund it
/// may have made already, so nothing is ever refunded twice.
public struct RefundController: Sendable {
    let store: any PaymentStore
    let provider: any PaymentProvider
    let reconciler: PaymentReconciler
    let clock: any StoreClock
    let metrics: ServiceMetrics

    static let idempotencyKey = HTTPField.Name("Idempotency-Key")!

    public init(store: any PaymentStore, provider: any PaymentProvider, reconciler: PaymentReconciler, clock: any StoreClock, metrics: ServiceMetrics) {
        self.store = store
        self.provider = provider
        self.reconciler = reconciler
        self.clock = clock
        self.metrics = metrics
    }

    public func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.group().add(middleware: RequireRoleMiddleware(.admin)).post(":id/refunds", use: create)
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<RefundResponse> {
        let principal = try context.requirePrincipal()
        let paymentId = try context.parameters.require("id")
        let key = try IdempotencyError.key(from: request.headers[Self.idempotencyKey])
        let body = try await request.collectBody(context: context)
        let input = try JSONRequestDecoder.decode(RefundInput.self, from: Data(buffer: body))

        var logger = context.logger
        logger[metadataKey: "payment_id"] = .string(paymentId)
        let reservation = try await store.reserveRefund(RefundRequest(
            id: UUID().uuidString.lowercased(), paymentId: PaymentID(paymentId), amount: input.amount, reason: input.reason, idempotencyKey: key,
            requestHash: IdempotencyKey.fingerprint(ofJSON: body.readableBytesView), requestedBy: principal.userID.rawValue,
            now: clock.timestamp()
        ))
        let refund: Refund
        switch reservation {
        case .paymentNotFound:
            throw PaymentServiceError.paymentNotFound
        case .keyReused:
            throw IdempotencyError.reused
        case .notRefundable(let status):
            throw PaymentServiceError.paymentNotRefundable(status: status)
        case .exceedsPayment(let left):
            throw PaymentServiceError.refundExceedsPayment(left: left)
        case .existing(let earlier, _) where earlier.status == RefundStatus.failed:
            throw PaymentServiceError.refundRefused(earlier.failureReason ?? "refused")
        case .existing(let earlier, _) where earlier.status == RefundStatus.succeeded:
            logger.info("refund replayed", metadata: ["refund_id": .string(earlier.id)])
            refund = earlier
        case .existing(let pending, let payment):
            refund = try await complete(pending, of: payment, key: key, retried: true, traceParent: context.traceParent, logger: logger)
        case .reserved(let new, let payment):
            refund = try await complete(new, of: payment, key: key, retried: false, traceParent: context.traceParent, logger: logger)
        }
        return RefundResponse(refund, forAdmin: true).with(status: .created)
    }

    /// Asks the provider for a reserved refund and records the answer.
    func complete(_ refund: Refund, of payment: Payment, key: String, retried: Bool, traceParent: String, logger: Logger) async throws -> Refund {
        var logger = logger
        logger[metadataKey: "refund_id"] = .string(refund.id)
        guard let intentId = payment.providerPaymentId else { throw PaymentServiceError.paymentNotRefundable(status: payment.status) }
        let made: ProviderRefund
        do {
            // A retry looks first: a provider that does not deduplicate keys may have made it.
            if retried, let found = try await provider.refunds(intentId: intentId).first(where: { $0.refundId == refund.id }) {
                made = found
            } else {
                made = try await provider.refund(
                    intentId: intentId, amount: refund.amount.minorUnits,
                    metadata: ["refund_id": refund.id, "payment_id": payment.id.rawValue, "reason": String(refund.reason.prefix(400))],
                    idempotencyKey: RefundKey.make(paymentId: payment.id.rawValue, requestKey: key)
                )
            }
        } catch ProviderError.refused(_, let message) {
            return try await refuse(refund, message, logger: logger)
        } catch ProviderError.noSuchIntent {
            return try await refuse(refund, "the provider has no such payment", logger: logger)
        } catch {
            // The outcome is unknown: the refund stays PENDING, and the same request again finishes it.
            logger.warning("provider refund failed; a retry with the same key completes it", metadata: ["error": "\(error)"])
            throw PaymentServiceError.providerUnavailable
        }
        // Recorded from the provider's list of the payment's refunds (with this one, even if the
        // list does not show it yet): its sum is the cumulative refunded amount.
        var refunds = (try? await provider.refunds(intentId: intentId)) ?? []
        if !refunds.contains(where: { $0.id == made.id }) { refunds.append(made) }
        let (result, updated) = try await reconciler.recordRefunds(payment, provider: refunds, traceParent: traceParent, logger: logger)
        metrics.counter(.refundsTotal, [("result", made.failed ? "failed" : made.succeeded ? "succeeded" : "pending")]).increment()
        logger.info("refund made", metadata: [
            "amount": .stringConvertible(refund.amount), "provider_refund_id": .string(made.id), "result": .string(result.rawValue),
            "refunded_amount": .stringConvertible(updated.refundedAmount),
        ])
        return try await store.refund(id: refund.id) ?? refund
    }

    func refuse(_ refund: Refund, _ message: String, logger: Logger) async throws -> Refund {
        _ = try await store.failRefund(id: refund.id, reason: message, at: clock.timestamp())
        metrics.counter(.refundsTotal, [("result", "refused")]).increment()
        logger.warning("provider refused the refund", metadata: ["reason": .string(message)])
        throw PaymentServiceError.refundRefused(message)
    }
}
