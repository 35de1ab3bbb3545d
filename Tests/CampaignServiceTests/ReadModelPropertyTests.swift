import Contracts
import Foundation
import Observability
import Persistence
import PropertyBased
import SQLKit
import Testing
import TestSupport
@testable import CampaignService

/// The kinds of news a pledge's life produces, in publishing order.
enum News: CaseIterable {
    case created, authorized, statusCaptured, statusFailed, paymentCaptured, paymentFailed
    /// PAYMENT_REFUNDED with half the amount (cumulative), and with all of it.
    case refundedPart, refundedAll
}

/// Status paths a pledge can take, as the pledge and payment services would publish them.
let lifePaths: [[News]] = [
    [.created],
    [.created, .authorized],
    [.created, .authorized, .statusCaptured, .paymentCaptured],
    [.created, .statusFailed, .paymentFailed],
    [.created, .authorized, .paymentFailed, .statusFailed],
    [.created, .paymentCaptured],
    [.created, .authorized, .paymentCaptured],
    [.created, .authorized, .paymentCaptured, .refundedPart],
    [.created, .authorized, .statusCaptured, .paymentCaptured, .refundedPart, .refundedAll],
    [.created, .paymentCaptured, .refundedAll],
]

/// One pledge of a generated scenario: its amount and which life it lives.
struct PledgeScenario: Sendable {
    let amount: Int64
    let path: [News]

    var finalStatus: PledgeStatus {
        path.map(\.status).max { $0.rank < $1.rank } ?? .pending
    }

    /// The largest cumulative refund in its life.
    var refunded: Int64 {
        path.map { $0.refunded(of: amount) }.max() ?? 0
    }
}

extension News {
    var status: PledgeStatus {
        switch self {
        case .created: .pending
        case .authorized: .authorized
        case .statusCaptured, .paymentCaptured: .captured
        case .statusFailed, .paymentFailed: .failed
        case .refundedPart: .captured
        case .refundedAll: .refunded
        }
    }

    func refunded(of amount: Int64) -> Int64 {
        switch self {
        case .refundedPart: max(1, amount / 2)
        case .refundedAll: amount
        default: 0
        }
    }

    func envelope(for pledge: PledgeEvents, at time: Date) -> EventEnvelope {
        switch self {
        case .created: pledge.created(at: time)
        case .authorized: pledge.changed(.pending, .authorized, at: time)
        case .statusCaptured: pledge.changed(.authorized, .captured, at: time)
        case .statusFailed: pledge.changed(.pending, .failed, at: time)
        case .paymentCaptured: pledge.captured(at: time)
        case .paymentFailed: pledge.failed(at: time)
        case .refundedPart, .refundedAll: pledge.refunded(cumulative: refunded(of: pledge.amount), at: time)
        }
    }
}

/// The events of a scenario for one campaign, each with fresh ids, in publishing order.
func events(for scenario: [PledgeScenario], campaignId: String) -> [EventEnvelope] {
    let start = Date(timeIntervalSince1970: 1_800_000_000)
    return scenario.enumerated().flatMap { index, pledge in
        let events = PledgeEvents(campaignId: CampaignID(campaignId), amount: pledge.amount)
        return pledge.path.enumerated().map { step, news in
            news.envelope(for: events, at: start.addingTimeInterval(Double(index * 10 + step)))
        }
    }
}

func expectedTotals(_ scenario: [PledgeScenario]) -> CampaignTotals {
    var totals = CampaignTotals()
    for pledge in scenario {
        totals.totalPledges += 1
        switch pledge.finalStatus {
        case .pending: totals.pendingAmount += pledge.amount
        case .authorized: totals.authorizedAmount += pledge.amount
        case .captured:
            totals.capturedAmount += pledge.amount - pledge.refunded
            totals.refundedAmount += pledge.refunded
            totals.totalPayments += 1
        case .refunded:
            totals.refundedAmount += pledge.amount
            totals.totalPayments += 1
        case .failed: totals.failedAmount += pledge.amount
        }
    }
    return totals
}

func rollup(_ client: any DatabaseClient, _ campaignId: String) async throws -> CampaignTotals {
    try await client.withConnection { db in
        guard let row = try await db.raw("SELECT * FROM campaign_rollups WHERE campaign_id = \(bind: campaignId)").first() else {
            return CampaignTotals()
        }
        return try SQLCampaignStore.totals(row)
    }
}

/// The projection's rows of a campaign, without ids: status, amount, what is known of the donor,
/// and when the donation was made and last changed, sorted.
func projection(_ client: any DatabaseClient, _ campaignId: String) async throws -> [String] {
    try await client.withConnection { db in
        try await db.raw("""
            SELECT status, amount, refunded_amount, details_known, anonymous, donor_name, message, created_at, last_event_at
            FROM campaign_pledges WHERE campaign_id = \(bind: campaignId)
            """).all().map { row in
            [
                try row.decode(column: "status", as: String.self), String(try row.decode(column: "amount", as: Int64.self)),
                String(try row.decode(column: "refunded_amount", as: Int64.self)),
                String(try row.decode(column: "details_known", as: Int.self)), String(try row.decode(column: "anonymous", as: Int.self)),
                try row.decode(column: "donor_name", as: String?.self) ?? "-", try row.decode(column: "message", as: String?.self) ?? "-",
                try row.decode(column: "created_at", as: String.self), try row.decode(column: "last_event_at", as: String.self),
            ].joined(separator: "|")
        }.sorted()
    }
}

func historyCount(_ client: any DatabaseClient, _ campaignId: String) async throws -> Int {
    try await client.withConnection { db in
        try await db.raw("SELECT COUNT(*) AS n FROM donation_history WHERE campaign_id = \(bind: campaignId)").first()!
            .decode(column: "n", as: Int.self)
    }
}

/// A small seeded generator so a failing case replays exactly.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: Int) { state = UInt64(truncatingIfNeeded: seed) &+ 0x9E37_79B9_7F4A_7C15 }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

/// Every event at least once, some up to three more times, all shuffled.
func shuffledWithDuplicates(_ events: [EventEnvelope], using rng: inout SplitMix64) -> [EventEnvelope] {
    var stream = events
    for event in events {
        for _ in 0..<Int.random(in: 0...3, using: &rng) where Bool.random(using: &rng) { stream.append(event) }
    }
    stream.shuffle(using: &rng)
    return stream
}

func migratedIngestor(_ client: any DatabaseClient) async throws -> EventIngestor {
    try await Migrator(service: "campaign", migrations: CampaignMigrations.all, logger: TestLogging.logger).migrate(client)
    return EventIngestor(database: client, clock: TestClock(), metrics: ServiceMetrics())
}

/// Lives of exactly four events each, late and early news included.
let fourEventPaths: [[News]] = [
    [.created, .authorized, .statusCaptured, .paymentCaptured],
    [.created, .authorized, .paymentFailed, .statusFailed],
    [.created, .authorized, .paymentCaptured, .statusCaptured],
    [.created, .statusFailed, .paymentFailed, .authorized],
]

let scenarioGenerator = zip(Gen.int(in: 1...100_000), Gen.int(in: 0...(lifePaths.count - 1)))
    .map { amount, path in PledgeScenario(amount: Int64(amount), path: lifePaths[path]) }
    .array(of: 1...12)

@Suite("The read model gives the same totals for every order and every duplication")
struct ReadModelPropertyTests {
    @Test("shuffled, duplicated, one by one or in batches: always the totals of the in-order stream", arguments: TestDatabase.all)
    func orderAndDuplicationIndependent(database: TestDatabase) async throws {
        try await database.withFreshClient { client in
            let ingestor = try await migratedIngestor(client)
            await propertyCheck(count: 25, input: scenarioGenerator, Gen.int(in: 0...Int(Int32.max))) { scenario, seed in
                var rng = SplitMix64(seed: seed)
                let expected = expectedTotals(scenario)

                // In publishing order, each event once.
                let inOrderCampaign = UUID().uuidString.lowercased()
                let inOrder = events(for: scenario, campaignId: inOrderCampaign)
                _ = try await ingestor.ingest(inOrder, logger: TestLogging.logger)
                #expect(try await rollup(client, inOrderCampaign) == expected)

                // Shuffled with duplicates, one request per event.
                let singleCampaign = UUID().uuidString.lowercased()
                let single = events(for: scenario, campaignId: singleCampaign)
                for event in shuffledWithDuplicates(single, using: &rng) {
                    _ = try await ingestor.ingest([event], logger: TestLogging.logger)
                }
                #expect(try await rollup(client, singleCampaign) == expected)
                #expect(try await historyCount(client, singleCampaign) == single.count)

                // Shuffled with duplicates, in batches of random sizes.
                let batchCampaign = UUID().uuidString.lowercased()
                let batched = events(for: scenario, campaignId: batchCampaign)
                var stream = shuffledWithDuplicates(batched, using: &rng)[...]
                var applied = 0
                while !stream.isEmpty {
                    let size = Int.random(in: 1...8, using: &rng)
                    let outcomes = try await ingestor.ingest(Array(stream.prefix(size)), logger: TestLogging.logger)
                    applied += outcomes.filter { $0.result == .applied }.count
                    stream = stream.dropFirst(size)
                }
                #expect(applied == batched.count)
                #expect(try await rollup(client, batchCampaign) == expected)

                // The whole shuffled stream, duplicates and all, as one batch applied as a set.
                let setCampaign = UUID().uuidString.lowercased()
                let asSet = events(for: scenario, campaignId: setCampaign)
                let outcomes = try await ingestor.ingest(shuffledWithDuplicates(asSet, using: &rng), logger: TestLogging.logger)
                #expect(outcomes.filter { $0.result == .applied }.count == asSet.count)
                #expect(try await rollup(client, setCampaign) == expected)
                #expect(try await historyCount(client, setCampaign) == asSet.count)
                #expect(try await projection(client, setCampaign) == projection(client, singleCampaign), "the same pledge rows as one by one")
            }
        }
    }

    @Test("replaying a campaign's event log, whatever order and duplication it arrived in, gives the live projection and rollup", arguments: TestDatabase.all)
    func replayEqualsLive(database: TestDatabase) async throws {
        try await database.withFreshClient { client in
            let ingestor = try await migratedIngestor(client)
            let store = SQLCampaignStore(database: client)
            await propertyCheck(count: 20, input: scenarioGenerator, Gen.int(in: 0...Int(Int32.max))) { scenario, seed in
                var rng = SplitMix64(seed: seed)
                let campaign = UUID().uuidString.lowercased()
                var stream = shuffledWithDuplicates(events(for: scenario, campaignId: campaign), using: &rng)[...]
                while !stream.isEmpty {
                    let size = Int.random(in: 1...8, using: &rng)
                    _ = try await ingestor.ingest(Array(stream.prefix(size)), logger: TestLogging.logger)
                    stream = stream.dropFirst(size)
                }
                let live = try await projection(client, campaign)
                let dry = try await store.rebuildFromEvents(campaignId: CampaignID(campaign), dryRun: true, at: Timestamp.format(Date()))
                #expect(dry.differences.isEmpty && dry.before == dry.after && dry.after == expectedTotals(scenario) && !dry.swapped)
                let real = try await store.rebuildFromEvents(campaignId: CampaignID(campaign), dryRun: false, at: Timestamp.format(Date()))
                #expect(real.differences.isEmpty && !real.swapped)
                #expect(try await rollup(client, campaign) == expectedTotals(scenario))
                #expect(try await projection(client, campaign) == live)
                #expect(try await historyCount(client, campaign) == events(for: scenario, campaignId: campaign).count)
            }
        }
    }

    @Test("the same 200 events sent from 8 tasks at once give exact totals", arguments: TestDatabase.all)
    func concurrentIngestion(database: TestDatabase) async throws {
        try await database.withFreshDatabase { url in
            try await Databases.withClient(url, logger: TestLogging.logger, maxConnections: 8) { client in
                let ingestor = try await migratedIngestor(client)
                let campaignId = UUID().uuidString.lowercased()
                // 50 pledges of 4 events each: 200 events, every life path represented.
                let scenario = (0..<50).map { index in
                    PledgeScenario(amount: Int64(100 + index), path: fourEventPaths[index % 4])
                }
                let all = events(for: scenario, campaignId: campaignId)
                #expect(all.count == 200)

                let appliedCounts = try await withThrowingTaskGroup(of: Int.self) { group in
                    for task in 0..<8 {
                        group.addTask {
                            var rng = SplitMix64(seed: task)
                            var applied = 0
                            var stream = all.shuffled(using: &rng)[...]
                            while !stream.isEmpty {
                                let outcomes = try await ingestor.ingest(Array(stream.prefix(10)), logger: TestLogging.logger)
                                applied += outcomes.filter { $0.result == .applied }.count
                                stream = stream.dropFirst(10)
                            }
                            return applied
                        }
                    }
                    return try await group.reduce(0, +)
                }
                #expect(appliedCounts == 200)
                #expect(try await rollup(client, campaignId) == expectedTotals(scenario))
                #expect(try await historyCount(client, campaignId) == 200)
            }
        }
    }
}
