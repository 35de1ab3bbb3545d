import Events
import Foundation
import HTTPSupport
import Logging
import Observability
import Persistence
import CoreMetrics
import HTTPTypes

/// Applies a batch of events, each in its own transaction (one event's log row, projection,
/// rollup and history commit together), and counts what happened.
public struct EventIngestor: Sendable {
    let database: any DatabaseClient
    let metrics: ServiceMetrics
    let changes: CampaignChanges?
    let projector = EventProjector()

    public init(database: any DatabaseClient, metrics: ServiceMetrics, changes: CampaignChanges? = nil) {
        self.database = database
        self.metrics = metrics
        self.changes = changes
    }

    public struct Outcome: Codable, Sendable, Equatable {
        public let eventId: String
        public let result: IngestResult

        enum CodingKeys: String, CodingKey {
            case eventId = "event_id", result
        }
    }

    public func ingest(_ events: [EventEnvelope], logger: Logger) async throws -> [Outcome] {
        var outcomes: [Outcome] = []
        outcomes.reserveCapacity(events.count)
        let kind = database.kind
        for event in events {
            let result = try await database.transaction { db in
                try await projector.apply(event, on: db, kind: kind)
            }
            metrics.counter("events_ingested_total", [("type", event.type.rawValue), ("result", result.rawValue)]).increment()
            if result != .duplicate { changes?.changed(campaignId: event.data.pledgeFact.campaignId) }
            var metadata: Logger.Metadata = [
                "event_id": .string(event.eventId), "event_type": .string(event.type.rawValue), "result": .string(result.rawValue),
                "pledge_id": .string(event.data.pledgeFact.pledgeId),
            ]
            // The event's own trace: the donation that caused it, whichever batch carried it.
            if let traceID = event.traceParent.flatMap(TraceParent.traceID(from:)) { metadata["trace_id"] = .string(traceID) }
            logger.info("event ingested", metadata: metadata)
            outcomes.append(Outcome(eventId: event.eventId, result: result))
        }
        return outcomes
    }
}

/// Reads one envelope or `{events: [...]}` and checks every event before any is applied: a
/// malformed event anywhere refuses the whole batch (400 `invalid_event`, naming its index).
public enum EventBatch {
    static let maximumBatchSize = 1000

    public static func parse(_ data: Data) throws -> [EventEnvelope] {
        guard let top = try? JSONSerialization.jsonObject(with: data), let object = top as? [String: Any] else {
            throw APIError(.badRequest, code: "invalid_json", message: "The body must be an event envelope or {\"events\": [...]}.")
        }
        let elements: [Any]
        if let batch = object["events"] {
            guard let array = batch as? [Any] else { throw CampaignServiceError.invalidEvent(index: 0, reason: "events must be an array") }
            guard array.count <= maximumBatchSize else {
                throw CampaignServiceError.invalidEvent(index: maximumBatchSize, reason: "a batch holds at most \(maximumBatchSize) events")
            }
            elements = array
        } else {
            elements = [object]
        }
        return try elements.enumerated().map { index, element in
            guard JSONSerialization.isValidJSONObject(element), let data = try? JSONSerialization.data(withJSONObject: element) else {
                throw CampaignServiceError.invalidEvent(index: index, reason: "not a JSON object")
            }
            let event: EventEnvelope
            do {
                event = try PlainJSON.decoder.decode(EventEnvelope.self, from: data)
            } catch let error as DecodingError {
                throw CampaignServiceError.invalidEvent(index: index, reason: describe(error))
            }
            try validate(event, index: index)
            return event
        }
    }

    static func validate(_ event: EventEnvelope, index: Int) throws {
        func fail(_ reason: String) -> CampaignServiceError { .invalidEvent(index: index, reason: reason) }
        guard UUID(uuidString: event.eventId) != nil else { throw fail("event_id must be a UUID") }
        guard !event.source.isEmpty, event.source.count <= 100 else { throw fail("source must be 1 to 100 characters") }
        guard EventTime.normalize(event.occurredAt) != nil else { throw fail("occurred_at must be an RFC 3339 time") }
        let fact = event.data.pledgeFact
        guard isIdentifier(fact.pledgeId) else { throw fail("pledge_id is missing or too long") }
        guard isIdentifier(fact.campaignId) else { throw fail("campaign_id is missing or too long") }
        if let paymentId = fact.paymentId, !isIdentifier(paymentId) { throw fail("payment_id is missing or too long") }
        guard fact.amount > 0 else { throw fail("amount must be a positive integer of minor units") }
        if case .pledgeCreated(let created) = event.data {
            if let name = created.donorName, !TextLimit(characters: 200).allows(name) { throw fail("donor_name is longer than 200 characters or 800 bytes") }
            if let message = created.message, !TextLimit(characters: 1000).allows(message) {
                throw fail("message is longer than 1000 characters or 4000 bytes")
            }
        }
    }

    static func isIdentifier(_ value: String) -> Bool {
        !value.isEmpty && value.count <= 100
    }

    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map(String.init) ?? $0.stringValue }.filter { $0 != "super" }.joined(separator: ".")
        }
        switch error {
        case .keyNotFound(let key, let context):
            let prefix = path(context)
            return "\(prefix.isEmpty ? "" : prefix + ".")\(key.stringValue) is required"
        case .typeMismatch(_, let context), .valueNotFound(_, let context):
            return "\(path(context)) has the wrong type"
        case .dataCorrupted(let context):
            return "\(path(context)) is invalid (\(context.debugDescription))"
        @unknown default:
            return "unreadable"
        }
    }
}
