import Contracts
import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Persistence
import SQLKit
import Synchronization
import Testing
import TestSupport
@testable import CampaignService

@Suite("campaign-service: the read cache")
struct CampaignReadCacheTests {
    static let campaign = Campaign(
        id: "c-1", title: "Clean water", description: "", goal: Money(1000, .init(rawValue: "USD")!), status: .active,
        createdAt: "2026-01-01T00:00:00.000Z", updatedAt: "2026-01-01T00:00:00.000Z", totals: CampaignTotals()
    )

    /// Counts reads of the database stand-in.
    final class Reads: Sendable {
        let count = Mutex(0)
        func read(_ campaign: Campaign?) -> Campaign? {
            count.withLock { $0 += 1 }
            return campaign
        }
        var total: Int { count.withLock { $0 } }
    }

    @Test("a campaign is read once, then served from memory until this process changes it; an unknown id is never kept")
    func currentUntilChanged() async throws {
        let changes = CampaignChanges()
        let cache = CampaignReadCache(changes: changes, maximumAge: .seconds(600))
        let reads = Reads()
        for _ in 0..<5 { _ = try await cache.campaign(id: "c-1") { reads.read(Self.campaign) } }
        #expect(reads.total == 1)
        changes.changed(campaignId: "c-2")
        _ = try await cache.campaign(id: "c-1") { reads.read(Self.campaign) }
        #expect(reads.total == 1, "another campaign's change leaves it current")
        changes.changed(campaignId: "c-1")
        _ = try await cache.campaign(id: "c-1") { reads.read(Self.campaign) }
        #expect(reads.total == 2, "its own change makes it stale at once")
        for _ in 0..<3 { #expect(try await cache.campaign(id: "nope") { reads.read(nil) } == nil) }
        #expect(reads.total == 5, "an unknown id is never kept")
    }

    @Test("a campaign older than the maximum age is read again: another replica may have changed it")
    func maximumAge() async throws {
        let clock = TestClock()
        let cache = CampaignReadCache(changes: CampaignChanges(), maximumAge: .milliseconds(100), now: clock.instant)
        let reads = Reads()
        _ = try await cache.campaign(id: "c-1") { reads.read(Self.campaign) }
        clock.advance(by: .milliseconds(99))
        _ = try await cache.campaign(id: "c-1") { reads.read(Self.campaign) }
        #expect(reads.total == 1, "younger than the maximum age: from memory")
        clock.advance(by: .milliseconds(1))
        _ = try await cache.campaign(id: "c-1") { reads.read(Self.campaign) }
        #expect(reads.total == 2)
    }

    @Test("a change committed while a read is under way makes what that read returns stale")
    func changeDuringRead() async throws {
        let changes = CampaignChanges()
        let cache = CampaignReadCache(changes: changes, maximumAge: .seconds(60))
        let reads = Reads()
        _ = try await cache.campaign(id: "c-1") {
            changes.changed(campaignId: "c-1")  // the ingestor commits while the old row is on its way
            return reads.read(Self.campaign)
        }
        _ = try await cache.campaign(id: "c-1") { reads.read(Self.campaign) }
        #expect(reads.total == 2)
    }

    @Test("through the routes: ingested events and admin edits show on the next read; Cache-Control: no-cache reads the database", arguments: TestDatabase.all)
    func routes(database: TestDatabase) async throws {
        // A maximum age no test run outlasts: what is served from memory does not depend on the machine's speed.
        try await withCampaignService(database, readCacheMaximumAge: .seconds(600)) { harness in
            let created = try await harness.createCampaign()
            #expect(try await harness.campaign(created.id).totalPledges == 0)
            let pledge = PledgeEvents(campaignId: created.id, amount: 700)
            #expect(try await harness.send([pledge.created(), pledge.captured()], batch: true).status == .ok)
            let after = try await harness.campaign(created.id)
            #expect(after.totalPledges == 1 && after.capturedAmount == 700)

            let paused = try await harness.client.execute(
                uri: "/campaigns/\(created.id)", method: .patch, headers: .bearer(harness.adminToken), body: ByteBuffer(json: ["status": "paused"])
            )
            #expect(paused.status == .ok)
            #expect(try await harness.campaign(created.id).status == .paused)

            // A write this process did not make (another replica's): the cache serves the old title
            // until its maximum age (the first test shows it is read again then); a no-cache read never does.
            try await Databases.withClient(harness.databaseURL, logger: TestLogging.logger) { client in
                try await client.withConnection { db in
                    try await db.raw("UPDATE campaigns SET title = 'Written elsewhere' WHERE id = \(bind: created.id)").run()
                }
            }
            #expect(try await harness.campaign(created.id).title == "Clean water", "served from memory")
            let fresh = try await harness.client.execute(uri: "/campaigns/\(created.id)", method: .get, headers: [.cacheControl: "no-cache"])
            #expect(try fresh.json(CampaignResponse.self).title == "Written elsewhere")
        }
    }
}
