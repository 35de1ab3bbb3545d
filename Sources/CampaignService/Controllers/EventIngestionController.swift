import Events
import Foundation
import HTTPSupport
import Hummingbird
import Observability
import Signatures
import NIOFoundationEssentialsCompat

/// Internal `POST /campaigns/events`: signed envelopes from the pledge and payment outboxes.
/// The gateway refuses this route; only services holding the internal secret can call it.
public struct EventIngestionController: Sendable {
    let ingestor: EventIngestor
    let signatures: SignatureScheme
    let metrics: ServiceMetrics

    public init(ingestor: EventIngestor, signatures: SignatureScheme, metrics: ServiceMetrics) {
        self.ingestor = ingestor
        self.signatures = signatures
        self.metrics = metrics
    }

    public func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("events", use: ingest)
    }

    struct IngestResponse: ResponseEncodable {
        let results: [EventIngestor.Outcome]
    }

    @Sendable func ingest(_ request: Request, context: AppRequestContext) async throws -> IngestResponse {
        let body = try await request.verifiedBody(scheme: signatures, context: context, metrics: metrics)
        let items = try EventBatch.parse(Data(buffer: body))
        let events = items.compactMap { item -> TracedEvent? in
            guard case .event(let event) = item else { return nil }
            return TracedEvent(id: event.eventId, type: event.type.rawValue, traceParent: event.traceParent)
        }
        let results = try await Trace.consume(batch: "events.ingest_batch", each: "ingest", events: events) { _ in
            try await ingestor.ingest(items, checkingCampaigns: true, logger: context.logger)
        } outcomes: { results in
            Dictionary(results.map { ($0.eventId, $0.result.rawValue) }, uniquingKeysWith: { first, _ in first })
        }
        return IngestResponse(results: results)
    }
}
