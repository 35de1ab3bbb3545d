import Contracts
import Foundation
import HTTPSupport
import Logging
import Observability
import Outbox
import Persistence
import SQLKit
import CoreMetrics
import HTTPTypes

/// Applies a batch of events in one transaction, as sets (`EventProjector`), retried whole when a
/// concurrent batch got to one of its events or pledges first; reports each event's result in
/// order, and counts and logs what happened. Batches that arrive while others are being applied
/// are applied together, in one transaction (group commit).
public struct EventIngestor: Sendable {
    let database: any DatabaseClient
    let clock: any StoreClock
    let metrics: ServiceMetrics
    let changes: CampaignChanges?
    /// Wakes the outbox relay when a goal was reached.
    let goals: QueueSignal?
    let projector = EventProjector()
    /// Concurrent requests' batches, applied together; each gets its own events' outcomes back.
    let batches: GroupCommitter<[ReceivedEvent], [IngestOutcome]>

    public init(
        database: any DatabaseClient, clock: any StoreClock, metrics: ServiceMetrics, changes: CampaignChanges? = nil, goals: QueueSignal? = nil,
        maximumWriters: Int = 2
    ) {
        self.database = database
        self.clock = clock
        self.metrics = metrics
        self.changes = changes
        self.goals = goals
        let projector = projector
        self.batches = GroupCommitter(maximumBatch: 16, maximumWriters: maximumWriters) { requests in
            let (outcomes, reached) = try await database.retryingTransaction { db in
                try await Self.apply(
                    requests.flatMap { $0 }, checkingCampaigns: true, projector: projector, on: db, dialect: database.dialect, now: clock.timestamp()
                )
            }
            if reached > 0 { goals?.notify() }
            // Back to each request, in its order.
            var rest = outcomes[...]
            return requests.map { items in
                defer { rest = rest.dropFirst(items.count) }
                return Array(rest.prefix(items.count))
            }
        }
    }

    /// Applies well-formed events, whatever campaign they name (replays, tests).
    public func ingest(_ events: [EventEnvelope], logger: Logger) async throws -> [IngestOutcome] {
        try await ingest(events.map(ReceivedEvent.event), checkingCampaigns: false, logger: logger)
    }

    /// Applies the batch's events; one that cannot be applied (malformed; with `checkingCampaigns`,
    /// an unknown campaign or another currency than the campaign's) is `rejected` with its reason
    /// and never holds back the others.
    public func ingest(_ items: [ReceivedEvent], checkingCampaigns: Bool, logger: Logger) async throws -> [IngestOutcome] {
        let outcomes: [IngestOutcome]
        if checkingCampaigns {
            outcomes = try await batches.submit(items)
        } else {
            let (projector, dialect, clock) = (self.projector, database.dialect, self.clock)
            let reached: Int
            (outcomes, reached) = try await database.retryingTransaction { db in
                try await Self.apply(items, checkingCampaigns: false, projector: projector, on: db, dialect: dialect, now: clock.timestamp())
            }
            if reached > 0 { goals?.notify() }
        }
        record(items, outcomes, logger: logger)
        return outcomes
    }

    /// The batch's outcomes, in order, applied on `db` (the caller's transaction), and how many
    /// campaigns reached their goal with it.
    static func apply(
        _ items: [ReceivedEvent], checkingCampaigns: Bool, projector: EventProjector, on db: any SQLDatabase, dialect: DatabaseDialect, now: String
    ) async throws -> ([IngestOutcome], goalsReached: Int) {
        var outcomes = items.map { item -> IngestOutcome? in
            if case .rejected(let eventId, let reason) = item { return .rejected(eventId, reason) }
            return nil
        }
        var accepted: [(index: Int, event: EventEnvelope)] = items.enumerated().compactMap { index, item in
            if case .event(let event) = item { return (index, event) }
            return nil
        }
        if checkingCampaigns {
            let reasons = try await campaignRefusals(accepted.map(\.event), on: db)
            accepted = accepted.filter { index, event in
                guard let reason = reasons[event.eventId] else { return true }
                outcomes[index] = .rejected(event.eventId, reason)
                return false
            }
        }
        let results = try await projector.apply(accepted.map(\.event), on: db, dialect: dialect, receivedAt: now)
        var moved = Set<CampaignID>()
        for (position, (index, event)) in accepted.enumerated() {
            outcomes[index] = IngestOutcome(eventId: event.eventId, result: results[position])
            // Only news of a capture can raise a captured total.
            let fact = event.data.pledgeFact
            if results[position] == .applied && fact.status == .captured { moved.insert(fact.campaignId) }
        }
        let reached = try await GoalWatch.check(moved, on: db, now: now)
        return (outcomes.map { $0! }, reached)
    }

    /// Why events cannot count for their campaign: it does not exist, or it counts another currency.
    static func campaignRefusals(_ events: [EventEnvelope], on db: any SQLDatabase) async throws -> [String: String] {
        let ids = Set(events.map(\.data.pledgeFact.campaignId))
        guard !ids.isEmpty else { return [:] }
        var currencies: [CampaignID: String] = [:]
        for row in try await db.raw("SELECT id, currency FROM campaigns WHERE id IN (\(binds: Array(ids)))").all() {
            currencies[try row.decode(column: "id", known: CampaignID.self)] = try row.decode(column: "currency", as: String.self)
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
    func record(_ items: [ReceivedEvent], _ outcomes: [IngestOutcome], logger: Logger) {
        var counts: [String: (type: String, result: String, count: Int)] = [:]
        var moved = Set<CampaignID>()
        for (item, outcome) in zip(items, outcomes) {
            let type: String
            if case .event(let event) = item {
                type = event.type.rawValue
                if outcome.result == .applied { moved.insert(event.data.pledgeFact.campaignId) }
                if logger.logLevel <= .debug {
                    var metadata: Logger.Metadata = [
                        "event_id": .string(event.eventId), "event_type": .string(type), "result": .string(outcome.result.rawValue),
                        "pledge_id": .string(event.data.pledgeFact.pledgeId.rawValue),
                    ]
                    // The event's own trace: the donation that caused it, whichever batch carried it.
                    if let traceID = event.traceParent.flatMap(TraceParent.traceID(from:)) { metadata["trace_id"] = .string(traceID) }
                    logger.debug("event ingested", metadata: metadata)
                }
            } else {
                type = "unreadable"
                logger.warning("event rejected", metadata: ["event_id": .string(outcome.eventId ?? ""), "reason": .string(outcome.reason ?? "")])
            }
            if outcome.result == .rejected, case .event = item {
                logger.warning("event rejected", metadata: ["event_id": .string(outcome.eventId ?? ""), "reason": .string(outcome.reason ?? "")])
            }
            counts["\(type)|\(outcome.result.rawValue)", default: (type, outcome.result.rawValue, 0)].count += 1
        }
        for (_, entry) in counts {
            metrics.counter(.eventsIngestedTotal, [("type", entry.type), ("result", entry.result)]).increment(by: entry.count)
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
