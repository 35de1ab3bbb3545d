import Contracts
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

    @Sendable func ingest(_ request: Request, context: AppRequestContext) async throws -> IngestResults {
        let body = try await request.verifiedBody(scheme: signatures, context: context, metrics: metrics)
        let items = try EventBatch.parse(Data(buffer: body))
        let events = items.compactMap { item -> TracedEvent? in
            guard case .event(let event) = item else { return nil }
            return TracedEvent(id: event.eventId, type: event.type.rawValue, traceParent: event.traceParent)
        }
        let results = try await Trace.ingest(batch: "events.ingest_batch", each: "ingest", items: events) { _ in
            try await ingestor.ingest(items, checkingCampaigns: true, logger: context.logger)
        }
        return IngestResults(results: results)
    }
}
