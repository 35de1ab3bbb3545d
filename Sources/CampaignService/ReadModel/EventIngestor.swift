import Events
import Foundation
import HTTPSupport
import Logging
import Observability
import Persistence
import SQLKit
import CoreMetrics
import HTTPTypes

/// Applies a batch of events in one transaction, as sets (`EventProjector`), retried whole when a
/// concurrent batch got to one of its events or pledges first; reports each event's result in
/// order, and counts and logs what happened.
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
        public let reason: String?

        init(eventId: String, result: IngestResult, reason: String? = nil) {
            self.eventId = eventId
            self.result = result
            self.reason = reason
        }

        enum CodingKeys: String, CodingKey {
            case eventId = "event_id", result, reason
        }
    }

    /// Applies well-formed events, whatever campaign they name (replays, tests).
    public func ingest(_ events: [EventEnvelope], logger: Logger) async throws -> [Outcome] {
        try await ingest(events.map(BatchItem.event), checkingCampaigns: false, logger: logger)
    }

    /// Applies the batch's events; one that cannot be applied (malformed; with `checkingCampaigns`,
    /// an unknown campaign or another currency than the campaign's) is `rejected` with its reason
    /// and never holds back the others.
    public func ingest(_ items: [BatchItem], checkingCampaigns: Bool, logger: Logger) async throws -> [Outcome] {
        let (projector, kind) = (self.projector, database.kind)
        let outcomes = try await database.retryingTransaction { db -> [Outcome] in
            var outcomes = items.map { item -> Outcome? in
                if case .rejected(let eventId, let reason) = item { return Outcome(eventId: eventId, result: .rejected, reason: reason) }
                return nil
            }
            var accepted: [(index: Int, event: EventEnvelope)] = items.enumerated().compactMap { index, item in
                if case .event(let event) = item { return (index, event) }
                return nil
            }
            if checkingCampaigns {
                let reasons = try await Self.campaignRefusals(accepted.map(\.event), on: db)
                accepted = accepted.filter { index, event in
                    guard let reason = reasons[event.eventId] else { return true }
                    outcomes[index] = Outcome(eventId: event.eventId, result: .rejected, reason: reason)
                    return false
                }
            }
            let results = try await projector.apply(accepted.map(\.event), on: db, kind: kind)
            for (position, (index, event)) in accepted.enumerated() {
                outcomes[index] = Outcome(eventId: event.eventId, result: results[position])
            }
            return outcomes.map { $0! }
        }
        record(items, outcomes, logger: logger)
        return outcomes
    }

    /// Why events cannot count for their campaign: it does not exist, or it counts another currency.
    static func campaignRefusals(_ events: [EventEnvelope], on db: any SQLDatabase) async throws -> [String: String] {
        let ids = Set(events.map(\.data.pledgeFact.campaignId))
        guard !ids.isEmpty else { return [:] }
        var currencies: [String: String] = [:]
        for row in try await db.raw("SELECT id, currency FROM campaigns WHERE id IN (\(binds: Array(ids)))").all() {
            currencies[try row.decode(column: "id", as: String.self)] = try row.decode(column: "currency", as: String.self)
        }
        var reasons: [String: String] = [:]
        for event in events {
            let fact = event.data.pledgeFact
            guard let currency = currencies[fact.campaignId] else {
                reasons[event.eventId] = "unknown campaign \(fact.campaignId)"
                continue
            }
            if currency != fact.currency.rawValue {
                reasons[event.eventId] = "currency \(fact.currency.rawValue) is not the campaign's \(currency)"
            }
        }
        return reasons
    }

    /// Counts by type and result, wakes the live streams of the campaigns that moved, and logs each
    /// event with its own trace (debug) and the batch in one line.
    func record(_ items: [BatchItem], _ outcomes: [Outcome], logger: Logger) {
        var counts: [String: (type: String, result: String, count: Int)] = [:]
        var moved = Set<String>()
        for (item, outcome) in zip(items, outcomes) {
            let type: String
            if case .event(let event) = item {
                type = event.type.rawValue
                if outcome.result == .applied { moved.insert(event.data.pledgeFact.campaignId) }
                if logger.logLevel <= .debug {
                    var metadata: Logger.Metadata = [
                        "event_id": .string(event.eventId), "event_type": .string(type), "result": .string(outcome.result.rawValue),
                        "pledge_id": .string(event.data.pledgeFact.pledgeId),
                    ]
                    // The event's own trace: the donation that caused it, whichever batch carried it.
                    if let traceID = event.traceParent.flatMap(TraceParent.traceID(from:)) { metadata["trace_id"] = .string(traceID) }
                    logger.debug("event ingested", metadata: metadata)
                }
            } else {
                type = "unreadable"
                logger.warning("event rejected", metadata: ["event_id": .string(outcome.eventId), "reason": .string(outcome.reason ?? "")])
            }
            if outcome.result == .rejected, case .event = item {
                logger.warning("event rejected", metadata: ["event_id": .string(outcome.eventId), "reason": .string(outcome.reason ?? "")])
            }
            counts["\(type)|\(outcome.result.rawValue)", default: (type, outcome.result.rawValue, 0)].count += 1
        }
        for (_, entry) in counts {
            metrics.counter("events_ingested_total", [("type", entry.type), ("result", entry.result)]).increment(by: entry.count)
        }
        for campaignId in moved { changes?.changed(campaignId: campaignId) }
        logger.info("events ingested", metadata: [
            "events": .stringConvertible(items.count),
            "applied": .stringConvertible(outcomes.filter { $0.result == .applied }.count),
            "duplicate": .stringConvertible(outcomes.filter { $0.result == .duplicate }.count),
            "rejected": .stringConvertible(outcomes.filter { $0.result == .rejected }.count),
        ])
    }
}

/// One element of a batch: an event to apply, or one that cannot be read (with why).
public enum BatchItem: Sendable {
    case event(EventEnvelope)
    case rejected(eventId: String, reason: String)
}

/// Reads one envelope or `{events: [...]}`, decoding each event once as the `EventEnvelope` the
/// publisher encoded. An element that is not a valid event becomes `.rejected` with the reason
/// (and its `event_id`, when it has one); only a body that is neither an envelope nor a batch, or
/// a batch over 1,000 events, refuses the whole request (400).
public enum EventBatch {
    static let maximumBatchSize = 1000

    public static func parse(_ data: Data) throws -> [BatchItem] {
        let body: Body
        do {
            body = try PlainJSON.decoder.decode(Body.self, from: data)
        } catch let error as CampaignServiceError {
            throw error
        } catch {
            throw APIError(.badRequest, code: "invalid_json", message: "The body must be an event envelope or {\"events\": [...]}.")
        }
        guard body.elements.count <= maximumBatchSize else {
            throw CampaignServiceError.invalidEvent(index: maximumBatchSize, reason: "a batch holds at most \(maximumBatchSize) events")
        }
        return body.elements.enumerated().map { index, element in
            switch element.decoded {
            case .success(let event):
                do {
                    try validate(event, index: index)
                    return .event(event)
                } catch let CampaignServiceError.invalidEvent(_, reason) {
                    return .rejected(eventId: event.eventId, reason: reason)
                } catch {
                    return .rejected(eventId: event.eventId, reason: "\(error)")
                }
            case .failure(let error):
                return .rejected(eventId: element.eventId ?? "", reason: describe(error))
            }
        }
    }

    /// `{"events": [...]}`, or one envelope (any other object is read as an envelope, and rejected
    /// if it is not one).
    struct Body: Decodable {
        let elements: [Element]

        enum Keys: String, CodingKey { case events }

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: Keys.self)
            if container.contains(.events) {
                guard let elements = try? container.decode([Element].self, forKey: .events) else {
                    throw CampaignServiceError.invalidEvent(index: 0, reason: "events must be an array")
                }
                self.elements = elements
            } else {
                self.elements = [try Element(from: decoder)]
            }
        }
    }

    /// One element, decoded or not; never throws, so one bad event does not fail the batch.
    struct Element: Decodable {
        let decoded: Result<EventEnvelope, DecodingError>
        let eventId: String?

        enum Keys: String, CodingKey { case eventId = "event_id" }

        init(from decoder: any Decoder) throws {
            eventId = try? decoder.container(keyedBy: Keys.self).decode(String.self, forKey: .eventId)
            do {
                decoded = .success(try EventEnvelope(from: decoder))
            } catch let error as DecodingError {
                decoded = .failure(error)
            }
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
