import Contracts
import Hummingbird
import Observability

extension IngestOutcome: ResponseEncodable {}
extension IngestResults: ResponseEncodable {}

extension Trace {
    /// What every receiver of events or notices does around applying a batch: each item in a
    /// consumer span of its own trace (`body` gets the trace context to write under, one per
    /// item), each span marked with its item's result.
    public static func ingest(
        batch: String, each: String, items: [TracedEvent],
        _ body: ([String?]) async throws -> [IngestOutcome]
    ) async throws -> [IngestOutcome] {
        try await consume(batch: batch, each: each, events: items, body) { outcomes in
            Dictionary(outcomes.compactMap { outcome in outcome.eventId.map { ($0, outcome.result.rawValue) } }, uniquingKeysWith: { first, _ in first })
        }
    }
}
