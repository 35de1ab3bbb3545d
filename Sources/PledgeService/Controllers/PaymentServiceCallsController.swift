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

    /// The answer to one notice; `status` is the pledge's status after it (absent for an unknown pledge).
    struct NoticeAnswer: ResponseEncodable {
        let eventId: String?
        let result: WebhookResult
        let status: String?
        let reason: String?

        init(_ outcome: NoticeOutcome, withEventId: Bool) {
            eventId = withEventId ? outcome.eventId : nil
            result = outcome.result
            status = outcome.status?.rawValue
            reason = outcome.reason
        }

        enum CodingKeys: String, CodingKey {
            case eventId = "event_id", result, status, reason
        }
    }

    struct BatchAnswer: ResponseEncodable {
        let results: [NoticeAnswer]
    }

    struct NoticeRefusal: Error {
        let eventId: String
        let reason: String
    }

    /// Notices in one request at most, as with event batches.
    static let maximumNotices = 1_000

    /// One notice answers `{result, status, reason?}`; `{notices: [...]}` answers `{results: [...]}`,
    /// one per notice in order, all applied in one transaction. A malformed notice is `rejected`
    /// with its reason and never holds back the others.
    @Sendable func receive(_ request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await request.verifiedBody(scheme: signatures, context: context, metrics: metrics)
        let object = try JSONRequestDecoder.object(from: body.readableBytesView)
        let items: [JSONValue]
        let batched: Bool
        if case .array(let notices)? = object["notices"] {
            guard notices.count <= Self.maximumNotices else {
                throw PledgeServiceError.invalidWebhook("at most \(Self.maximumNotices) notices in one request")
            }
            (items, batched) = (notices, true)
        } else {
            (items, batched) = ([.object(object)], false)
        }
        // Parse every notice; the malformed ones are answered without touching the database.
        let parsed = items.map { item -> Result<PaymentWebhook, NoticeRefusal> in
            guard case .object(let fields) = item else { return .failure(NoticeRefusal(eventId: "", reason: "a notice must be an object")) }
            do {
                var notice = try Self.parse(fields)
                // A notice's own trace; a lone notice without one belongs to the request's.
                if notice.traceParent == nil && !batched { notice.traceParent = context.traceParent }
                return .success(notice)
            } catch {
                let reason = if case PledgeServiceError.invalidWebhook(let reason) = error { reason } else { "malformed" }
                return .failure(NoticeRefusal(eventId: fields["event_id"]?.stringValue ?? "", reason: reason))
            }
        }
        let notices = parsed.compactMap { try? $0.get() }
        // Each notice is handled in a span of its own trace (the payment's); what it writes
        // (events for campaign-service, mail) carries that span's trace context.
        let traced = notices.map { TracedEvent(id: $0.eventId, type: $0.status.rawValue, traceParent: $0.traceParent) }
        let results = try await Trace.consume(batch: "notices.apply_batch", each: "notice", events: traced) { traceParents in
            var notices = notices
            for index in notices.indices { notices[index].traceParent = traceParents[index] }
            return try await store.applyPaymentNotices(notices, source: "pledge-service")
        } outcomes: { results in
            Dictionary(results.map { ($0.eventId, $0.result.rawValue) }, uniquingKeysWith: { first, _ in first })
        }
        var applied = results.makeIterator()
        let outcomes = parsed.map { notice -> NoticeOutcome in
            switch notice {
            case .success: applied.next()!
            case .failure(let refusal): NoticeOutcome(eventId: refusal.eventId, result: .rejected, status: nil, reason: refusal.reason)
            }
        }
        for (outcome, notice) in zip(outcomes, parsed) {
            metrics.counter(.pledgeTransitionsTotal, [("result", outcome.result.rawValue)]).increment()
            var metadata: Logger.Metadata = ["event_id": .string(outcome.eventId), "result": .string(outcome.result.rawValue)]
            if case .success(let notice) = notice {
                metadata["pledge_id"] = .string(notice.pledgeId)
                metadata["payment_id"] = .string(notice.paymentId)
                metadata["reported_status"] = .string(notice.status.rawValue)
                // The notice's own trace: the donation's, whichever batch carried it.
                if let traceID = notice.traceParent.flatMap(TraceParent.traceID(from:)) { metadata["trace_id"] = .string(traceID) }
            }
            if let status = outcome.status { metadata["status"] = .string(status.rawValue) }
            if let reason = outcome.reason { metadata["reason"] = .string(reason) }
            context.logger.info("payment notice", metadata: metadata)
        }
        if batched {
            return try BatchAnswer(results: outcomes.map { NoticeAnswer($0, withEventId: true) }).response(from: request, context: context)
        }
        return try NoticeAnswer(outcomes[0], withEventId: false).response(from: request, context: context)
    }

    @Sendable func lookup(_ request: Request, context: AppRequestContext) async throws -> PledgeLookupResponse {
        let body = try await request.verifiedBody(scheme: signatures, context: context, metrics: metrics)
        guard let query = try? PlainJSON.decoder.decode(PledgeLookupRequest.self, from: Data(buffer: body)), !query.pledgeId.isEmpty else {
            throw APIError(.badRequest, code: "invalid_json", message: "The body must be {\"pledge_id\": ..., \"receipt_token\"?: ...}.")
        }
        // Not a UUID names no pledge (and a NUL byte would not even reach PostgreSQL's text).
        guard UUID(uuidString: query.pledgeId) != nil, let pledge = try await store.pledge(id: query.pledgeId) else {
            throw PledgeServiceError.pledgeNotFound
        }
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
            throw PledgeServiceError.invalidWebhook("status must be one of PENDING, AUTHORIZED, CAPTURED, FAILED, REFUNDED")
        }
        var reason: String?
        if case .string(let text) = object["reason"] { reason = String(text.prefix(500)) }
        var webhook = PaymentWebhook(
            eventId: try field("event_id"), pledgeId: try field("pledge_id"), paymentId: try field("payment_id"),
            status: status, occurredAt: try field("occurred_at"), reason: reason
        )
        if let trace = object["trace_parent"]?.stringValue, TraceParent.traceID(from: trace) != nil { webhook.traceParent = trace }
        switch object["refunded_amount"] {
        case nil, .null: break
        case let value?:
            guard let refunded = value.integerValue, refunded >= 0 else {
                throw PledgeServiceError.invalidWebhook("refunded_amount must be a non-negative integer of minor units")
            }
            webhook.refundedAmount = refunded
        }
        return webhook
    }
}

extension PledgeLookupResponse: ResponseEncodable {}
