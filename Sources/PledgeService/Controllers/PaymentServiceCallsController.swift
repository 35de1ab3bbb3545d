import Auth
import Events
import Foundation
import HTTPSupport
import Hummingbird
import Observability
import Signatures
import CoreMetrics
import Logging
import NIOFoundationEssentialsCompat

/// The signed routes only payment-service calls (the gateway refuses both):
/// - `POST /pledges/webhooks/payment`: payment-service reports a payment's status. Valid but
///   stale news is `ignored`, a redelivery `duplicate`: never an error to the sender.
/// - `POST /pledges/internal/lookup`: what payment-service may charge for a pledge.
public struct PaymentServiceCallsController: Sendable {
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
        group.post("internal/lookup", use: lookup)
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

    @Sendable func lookup(_ request: Request, context: AppRequestContext) async throws -> PledgeLookupResponse {
        let body = try await request.verifiedBody(scheme: signatures, context: context, metrics: metrics)
        guard let query = try? JSONDecoder().decode(PledgeLookupRequest.self, from: Data(buffer: body)), !query.pledgeId.isEmpty else {
            throw APIError(.badRequest, code: "invalid_json", message: "The body must be {\"pledge_id\": ..., \"receipt_token\"?: ...}.")
        }
        guard let (pledge, _) = try await store.find(id: query.pledgeId) else { throw PledgeServiceError.pledgeNotFound }
        return PledgeLookupResponse(
            id: pledge.id, campaignId: pledge.campaignId, userId: pledge.userId, amount: pledge.amount, currency: pledge.currency,
            status: pledge.status, receiptTokenValid: query.receiptToken.map { ReceiptToken.matches($0, hash: pledge.receiptTokenHash) } ?? false
        )
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

extension PledgeLookupResponse: ResponseEncodable {}
