import Events
import Foundation
import HTTPSupport
import Hummingbird
import Observability
import Signatures
import CoreMetrics
import Logging

/// Internal `POST /pledges/webhooks/payment`: payment-service reports a payment's status, signed.
/// Valid but stale news is `ignored`, a redelivery `duplicate`: never an error to the sender.
public struct PaymentWebhookController: Sendable {
    let store: any PledgeStore
    let signatures: SignatureScheme
    let metrics: ServiceMetrics

    public init(store: any PledgeStore, signatures: SignatureScheme, metrics: ServiceMetrics) {
        self.store = store
        self.signatures = signatures
        self.metrics = metrics
    }

    public func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("webhooks/payment", use: receive)
    }

    struct WebhookResponse: ResponseEncodable {
        let result: WebhookResult
        let status: String
    }

    @Sendable func receive(_ request: Request, context: AppRequestContext) async throws -> WebhookResponse {
        let body = try await request.verifiedBody(scheme: signatures, context: context, metrics: metrics)
        var webhook = try Self.parse(try JSONRequestDecoder.object(from: body.readableBytesView))
        webhook.traceParent = context.traceParent
        guard let (result, status) = try await store.applyPaymentWebhook(webhook, source: "pledge-service") else {
            throw PledgeServiceError.pledgeNotFound
        }
        metrics.counter("pledge_transitions_total", [("result", result.rawValue)]).increment()
        context.logger.info("payment webhook", metadata: [
            "event_id": .string(webhook.eventId), "pledge_id": .string(webhook.pledgeId), "payment_id": .string(webhook.paymentId),
            "reported_status": .string(webhook.status.rawValue), "result": .string(result.rawValue), "status": .string(status.rawValue),
        ])
        return WebhookResponse(result: result, status: status.rawValue)
    }

    static func parse(_ object: [String: JSONValue]) throws -> PaymentWebhook {
        func field(_ name: String) throws -> String {
            guard let value = object[name]?.stringValue, !value.isEmpty, value.count <= 200 else {
                throw PledgeServiceError.invalidWebhook("\(name) is required")
            }
            return value
        }
        guard let status = PledgeStatus(rawValue: try field("status")) else {
            throw PledgeServiceError.invalidWebhook("status must be one of PENDING, AUTHORIZED, CAPTURED, FAILED")
        }
        var reason: String?
        if case .string(let text) = object["reason"] { reason = String(text.prefix(500)) }
        return PaymentWebhook(
            eventId: try field("event_id"), pledgeId: try field("pledge_id"), paymentId: try field("payment_id"),
            status: status, occurredAt: try field("occurred_at"), reason: reason
        )
    }
}
