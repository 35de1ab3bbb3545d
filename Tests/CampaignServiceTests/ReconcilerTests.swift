import Contracts
import Foundation
import HTTPSupport
import Observability
import Persistence
import SQLKit
import ServiceLifecycle
import Synchronization
import Testing
import TestSupport
@testable import CampaignService

/// pledge- and payment-service as a test tells them to answer.
final class StubLedgers: CampaignLedgers {
    private let state = Mutex<(entries: [LedgerSource: [LedgerEntry]], resent: [LedgerSource: [PledgeID]])>(([:], [:]))

    func set(_ source: LedgerSource, _ entries: [LedgerEntry]) { state.withLock { $0.entries[source] = entries } }
    func resent(_ source: LedgerSource) -> [PledgeID] { state.withLock { $0.resent[source] ?? [] } }

    func ledger(_ source: LedgerSource, campaignId: CampaignID, entries: Bool, after: PledgeID?) async throws -> CampaignLedger {
        let all = state.withLock { $0.entries[source] ?? [] }.sorted { $0.pledgeId < $1.pledgeId }
        var counts: [String: Int64] = [:]
        var amounts: [String: Int64] = [:]
        for entry in all {
            counts[entry.status.rawValue, default: 0] += 1
            amounts[entry.status.rawValue, default: 0] += entry.amount
        }
        let page = entries ? all.filter { after == nil || $0.pledgeId > after! } : nil
        return CampaignLedger(campaignId: campaignId, counts: counts, amounts: amounts, refundedAmount: all.reduce(0) { $0 + $1.refundedAmount }, entries: page)
    }

    func resend(_ source: LedgerSource, pledgeIds: [PledgeID]) async throws -> Int {
        state.withLock { $0.resent[source, default: []] += pledgeIds }
        return pledgeIds.count
    }
}

/// Publishers that take a minute to answer, as ones under load or behind a dead link would.
final class SlowLedgers: CampaignLedgers {
    let asked = Atomic<Bool>(false)

    func ledger(_ source: LedgerSource, campaignId: CampaignID, entries: Bool, after: PledgeID?) async throws -> CampaignLedger {
        asked.store(true, ordering: .relaxed)
        try await Task.sleep(for: .seconds(60))
        return CampaignLedger(campaignId: campaignId, counts: [:], amounts: [:], refundedAmount: 0)
    }

    func resend(_ source: LedgerSource, pledgeIds: [PledgeID]) async throws -> Int { 0 }
}

@Suite("campaign-service: reconciliation")
struct ReconcilerTests {
    /// A run asks both publishers about every campaign; a stop used to wait for it (over 30 s in
    /// the chaos suite, with a hundred campaigns).
    @Test("a graceful stop ends a scheduled reconciliation run at once")
    func stopDuringRun() async throws {
        try await withCampaignService(.sqlite) { harness in
            _ = try await harness.createCampaign()
            let ledgers = SlowLedgers()
            try await Databases.withClient(harness.databaseURL, logger: TestLogging.logger) { client in
                let reconciler = Reconciler(database: client, ledgers: ledgers, confirmAfter: .zero, clock: TestClock(), metrics: ServiceMetrics(), logger: TestLogging.logger)
                let service = ReconciliationService(reconciler: reconciler, interval: .milliseconds(10), logger: TestLogging.logger)
                let group = ServiceGroup(configuration: .init(services: [service], logger: TestLogging.logger))
                Task {
                    _ = try await eventually { ledgers.asked.load(ordering: .relaxed) }
                    await group.triggerGracefulShutdown()
                }
                try await within(seconds: 10) { try await group.run() }
                let asked = ledgers.asked.load(ordering: .relaxed)
                #expect(asked)
            }
        }
    }

    @Test("agreeing publishers: no drift; a pledge the read model lacks and a capture it missed: named fields and pledge ids, kept, announced, repaired", arguments: TestDatabase.all)
    func drift(database: TestDatabase) async throws {
        try await withCampaignService(database) { harness in
            let campaign = try await harness.createCampaign()
            let a = PledgeEvents(campaignId: campaign.id, amount: 400)
            let b = PledgeEvents(campaignId: campaign.id, amount: 600)
            _ = try await harness.send([a.created(), b.created(), b.captured()], batch: true)
            let ledgers = StubLedgers()
            ledgers.set(.pledges, [
                LedgerEntry(pledgeId: a.pledgeId, status: .pending, amount: 400, refundedAmount: 0),
                LedgerEntry(pledgeId: b.pledgeId, status: .captured, amount: 600, refundedAmount: 0),
            ])
            ledgers.set(.payments, [LedgerEntry(pledgeId: b.pledgeId, status: .captured, amount: 600, refundedAmount: 0)])
            try await Databases.withClient(harness.databaseURL, logger: TestLogging.logger) { client in
                let reconciler = Reconciler(database: client, ledgers: ledgers, confirmAfter: .zero, clock: TestClock(), metrics: ServiceMetrics(), logger: TestLogging.logger)
                let clean = try await reconciler.run(repair: false)
                #expect(clean.drift.isEmpty && clean.campaignsChecked == 1 && clean.errors.isEmpty)

                // pledge-service knows a pledge campaign-service never heard of, and payment-service a capture of a's it missed.
                let unknown = PledgeID.new()
                ledgers.set(.pledges, [
                    LedgerEntry(pledgeId: a.pledgeId, status: .captured, amount: 400, refundedAmount: 0),
                    LedgerEntry(pledgeId: b.pledgeId, status: .captured, amount: 600, refundedAmount: 0),
                    LedgerEntry(pledgeId: unknown, status: .pending, amount: 900, refundedAmount: 0),
                ])
                ledgers.set(.payments, [
                    LedgerEntry(pledgeId: a.pledgeId, status: .captured, amount: 400, refundedAmount: 0),
                    LedgerEntry(pledgeId: b.pledgeId, status: .captured, amount: 600, refundedAmount: 0),
                ])
                let found = try await reconciler.run(repair: false)
                let byField = Dictionary(uniqueKeysWithValues: found.drift.map { ($0.field, ($0.expected, $0.actual)) })
                #expect(byField["pledges.count.PENDING"] == nil, "one pending on each side, though not the same one")
                #expect(byField["pledges.count.CAPTURED"].map { $0 == (2, 1) } == true)
                #expect(byField["pledges.amount.PENDING"].map { $0 == (900, 400) } == true)
                #expect(byField["pledges.amount.CAPTURED"].map { $0 == (1000, 600) } == true)
                #expect(byField["payments.captured_amount"].map { $0 == (1000, 600) } == true)
                #expect(byField["payments.count"].map { $0 == (2, 1) } == true)
                #expect(byField.keys.allSatisfy { !$0.hasPrefix("rollup.") }, "the rollup agrees with the projection")
                #expect(found.drift.allSatisfy { $0.pledgeIds == [a.pledgeId, unknown].sorted() })
                #expect(Set(try await reconciler.runs(limit: 10, after: nil).map(\.runId)) == [found.runId, clean.runId])
                let notices = try await client.withConnection { db in
                    try await db.raw("SELECT event_type FROM outbox WHERE destination = 'notification-events'").all().map { try $0.decode(column: "event_type", as: String.self) }
                }
                #expect(notices == ["RECONCILIATION_DRIFT"])

                let repaired = try await reconciler.run(repair: true)
                #expect(repaired.repaired && repaired.resent == 4)
                #expect(ledgers.resent(.pledges) == [a.pledgeId, unknown].sorted() && ledgers.resent(.payments) == [a.pledgeId, unknown].sorted())
            }
        }
    }
}
