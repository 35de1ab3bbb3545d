import Contracts
import CoreMetrics
import Foundation
import HTTPSupport
import Hummingbird
import Logging
import NIOFoundationEssentialsCompat
import Observability
import Signatures

/// Internal `POST /pledges/webhooks/payment` (signed; the gateway refuses it): payment-service's
/// status notices about its payments, one or `{notices: [...]}` (at most 1,000), decoded as the
/// `PaymentStatusNotice` payment-service encoded. Valid but stale news is `ignored`, a redelivery
/// `duplicate`: never an error to the sender. A notice that breaks the contract is `rejected`
/// with its reason and never holds back the others; all the rest apply in one transaction.
public struct PaymentNoticeController: Sendable {
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

    /// One notice answers `{result, status, reason?}`; a batch answers `{results: [...]}`, one per
    /// notice in order.
    @Sendable func receive(_ request: Request, context: AppRequestContext) async throws -> Response {
        let body = try await request.verifiedBody(scheme: signatures, context: context, metrics: metrics)
        try UnstorableText.refuse(body.readableBytesView)
        let batch: Batch<PaymentStatusNotice>
        do {
            batch = try WireCoding.decoder.decode(Batch<PaymentStatusNotice>.self, from: Data(buffer: body))
        } catch {
            throw APIError(.badRequest, code: "invalid_json", message: "The body must be a payment notice or {\"notices\": [...]}.")
        }
        guard batch.elements.count <= Batch<PaymentStatusNotice>.maximumCount else {
            throw PledgeServiceError.invalidWebhook("at most \(Batch<PaymentStatusNotice>.maximumCount) notices in one request")
        }
        var notices: [PaymentStatusNotice] = []
        for case .decoded(var notice) in batch.elements {
            // A notice's own trace, if it is one; a lone notice without one belongs to the request's.
            if let trace = notice.traceParent, TraceParent.traceID(from: trace) == nil { notice.traceParent = nil }
            if notice.traceParent == nil && !batch.isBatch { notice.traceParent = context.traceParent }
            notices.append(notice)
        }
        // Each notice is handled in a span of its own trace (the payment's); what it writes
        // (events for campaign-service, mail) carries that span's trace context.
        let traced = notices.map { TracedEvent(id: $0.eventId, type: $0.status.rawValue, traceParent: $0.traceParent) }
        var applied = try await Trace.ingest(batch: "notices.apply_batch", each: "notice", items: traced) { traceParents in
            var notices = notices
            for index in notices.indices { notices[index].traceParent = traceParents[index] }
            return try await store.applyPaymentNotices(notices, source: "pledge-service")
        }[...]
        let outcomes = batch.elements.map { element -> IngestOutcome in
            switch element {
            case .decoded: applied.popFirst() ?? .rejected(nil, "lost")
            case .unreadable(let eventId, let reason): .rejected(eventId ?? "", reason)
            }
        }
        record(outcomes, notices: notices, logger: context.logger)
        if batch.isBatch { return try IngestResults(results: outcomes).response(from: request, context: context) }
        var lone = outcomes[0]
        lone.eventId = nil
        return try lone.response(from: request, context: context)
    }

    /// Counts each outcome and logs it with its notice's ids and trace.
    func record(_ outcomes: [IngestOutcome], notices: [PaymentStatusNotice], logger: Logger) {
        let byEvent = Dictionary(notices.map { ($0.eventId, $0) }, uniquingKeysWith: { first, _ in first })
        for outcome in outcomes {
            metrics.counter(.pledgeTransitionsTotal, [("result", outcome.result.rawValue)]).increment()
            var metadata: Logger.Metadata = ["event_id": .string(outcome.eventId ?? ""), "result": .string(outcome.result.rawValue)]
            if let notice = outcome.eventId.flatMap({ byEvent[$0] }) {
                metadata["pledge_id"] = .string(notice.pledgeId.rawValue)
                metadata["payment_id"] = .string(notice.paymentId.rawValue)
                metadata["reported_status"] = .string(notice.status.rawValue)
                // The notice's own trace: the donation's, whichever batch carried it.
                if let traceID = notice.traceParent.flatMap(TraceParent.traceID(from:)) { metadata["trace_id"] = .string(traceID) }
            }
            if let status = outcome.status { metadata["status"] = .string(status.rawValue) }
            if let reason = outcome.reason { metadata["reason"] = .string(reason) }
            logger.info("payment notice", metadata: metadata)
        }
    }
}
