import Contracts
import CoreMetrics
import Foundation
import HTTPSupport
import HTTPTypes
import Hummingbird
import Logging
import NIOFoundationEssentialsCompat
import Observability
import Signatures

extension HTTPField.Name {
    static let stripeSignature = HTTPField.Name("Stripe-Signature")!
}

/// `POST /payments/webhooks/stripe`: the provider's webhooks (Stripe's, or the sandbox's in the
/// same form). The signature is checked on the raw body (400 when bad or stale), the event is
/// deduplicated by its id, and the intent is retrieved from the provider before anything moves:
/// the event only says where to look.
public struct ProviderWebhookController: Sendable {
    let store: any PaymentStore
    let provider: any PaymentProvider
    let reconciler: PaymentReconciler
    let signatures: SignatureScheme
    let metrics: ServiceMetrics

    public init(store: any PaymentStore, provider: any PaymentProvider, reconciler: PaymentReconciler, signatures: SignatureScheme, metrics: ServiceMetrics) {
        self.store = store
        self.provider = provider
        self.reconciler = reconciler
        self.signatures = signatures
        self.metrics = metrics
    }

    public func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("webhooks/stripe", use: receive)
    }

    struct WebhookAnswer: ResponseEncodable {
        let received: Bool
        let result: String
    }

    @Sendable func receive(_ request: Request, context: AppRequestContext) async throws -> WebhookAnswer {
        let body = try await request.verifiedBody(
            scheme: signatures, header: .stripeSignature, refusal: .badRequest, context: context, metrics: metrics
        )
        let event: StripeEvent
        do {
            event = try StripeEvent(json: Data(buffer: body))
        } catch StripeEventError.malformed(let reason) {
            throw PaymentServiceError.invalidEvent(reason)
        }
        let result = try await handle(event, traceParent: context.traceParent, logger: context.logger)
        metrics.counter(.providerWebhooksTotal, [("type", event.type), ("result", result)]).increment()
        context.logger.info("provider webhook", metadata: [
            "provider_event_id": .string(event.id), "type": .string(event.type), "intent_id": .string(event.paymentIntentId ?? "-"),
            "result": .string(result),
        ])
        return WebhookAnswer(received: true, result: result)
    }

    func handle(_ event: StripeEvent, traceParent: String, logger: Logger) async throws -> String {
        if try await store.hasSeen(eventId: event.id) { return "duplicate" }
        let record = ProviderEventRecord(id: event.id, type: event.type, paymentIntentId: event.paymentIntentId)
        guard let intentId = event.paymentIntentId else {
            return try await recordOnly(record, as: "unhandled")
        }
        // The provider's word, not the event's. If it cannot be asked, answer 503: the provider retries.
        let intent: ProviderIntent
        do {
            intent = try await provider.retrieve(intentId: intentId)
        } catch ProviderError.noSuchIntent {
            return try await recordOnly(record, as: "unknown_intent")
        } catch {
            logger.warning("could not retrieve the intent; the provider will redeliver", metadata: ["error": "\(error)"])
            throw APIError(.serviceUnavailable, code: "provider_unavailable", message: "The payment provider could not be asked; try again.")
        }
        // The intent may be ahead of our record of it: a webhook can beat the create's answer, and
        // settling records the intent on the pledge's payment then.
        var payment = try await store.find(providerPaymentId: intent.id)
        if payment == nil, let pledgeId = intent.pledgeId {
            payment = try await store.find(pledgeId: PledgeID(pledgeId))
        }
        guard let payment else {
            return try await recordOnly(record, as: "unknown_intent")
        }
        // The provider sends no trace: what the webhook moves continues the trace the payment was
        // created under, in a span linked to the webhook request's own.
        return try await Trace.span(
            "webhook.apply \(event.type)", kind: .consumer, parent: payment.traceParent, links: [traceParent]
        ) { span in
            span.set("provider_event_id", event.id)
            span.set("payment_id", payment.id.rawValue)
            let traceParent = span.traceParent ?? payment.traceParent ?? traceParent
            guard event.isRefund else {
                let (result, _) = try await reconciler.settle(payment, with: intent, event: record, traceParent: traceParent)
                span.set("careforall.outcome", result.rawValue)
                return result.rawValue
            }
            // A refund implies the capture: the intent is settled first (a capture we have not
            // recorded yet), then the refunds the provider lists, with the event.
            let (_, settled) = try await reconciler.settle(payment, with: intent, traceParent: traceParent)
            do {
                let result = try await reconciler.reconcileRefunds(settled, event: record, traceParent: traceParent).0.rawValue
                span.set("careforall.outcome", result)
                return result
            } catch let error as ProviderError {
                logger.warning("could not list the refunds; the provider will redeliver", metadata: ["error": "\(error)"])
                throw APIError(.serviceUnavailable, code: "provider_unavailable", message: "The payment provider could not be asked; try again.")
            }
        }
    }

    /// Records an event that moves nothing; `duplicate` if it was recorded before.
    func recordOnly(_ record: ProviderEventRecord, as result: String) async throws -> String {
        try await store.recordEvent(record, result: result) ? result : "duplicate"
    }
}
