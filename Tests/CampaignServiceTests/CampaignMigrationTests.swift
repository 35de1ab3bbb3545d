import Foundation
import Persistence
import SQLKit
import Testing
import TestSupport
@testable import CampaignService

@Suite("campaign-service migrations")
struct CampaignMigrationTests {
    @Test("text stored before byte limits existed is cleared from the public projection; ordinary text is kept", arguments: TestDatabase.all)
    func clearsOversizedText(database: TestDatabase) async throws {
        try await database.withFreshClient { client in
            let before = Migrator(service: "campaign", migrations: Array(CampaignMigrations.all.prefix(2)), logger: TestLogging.logger)
            try await before.migrate(client)
            let heavy = "a" + String(repeating: "\u{301}", count: 100_000)
            let ordinary = String(repeating: "😀", count: 500)
            try await client.withConnection { db in
                for (id, name, message) in [("p-heavy", heavy, heavy), ("p-fine", "Grace", ordinary)] {
                    try await db.raw("""
                        INSERT INTO campaign_pledges (pledge_id, campaign_id, amount, currency, status, details_known, donor_name, message, updated_at)
                        VALUES (\(bind: id), 'c1', 100, 'USD', 'PENDING', 1, \(bind: name), \(bind: message), '2026-01-01T00:00:00Z')
                        """).run()
                }
            }
            try await Migrator(service: "campaign", migrations: CampaignMigrations.all, logger: TestLogging.logger).migrate(client)
            let rows = try await client.withConnection { db in
                try await db.raw("SELECT pledge_id, donor_name, message FROM campaign_pledges ORDER BY pledge_id").all().map {
                    (try $0.decode(column: "pledge_id", as: String.self), try $0.decode(column: "donor_name", as: String?.self),
                     try $0.decode(column: "message", as: String?.self))
                }
            }
            #expect(rows.count == 2)
            #expect(rows[0].0 == "p-fine" && rows[0].1 == "Grace" && rows[0].2 == ordinary)
            #expect(rows[1].0 == "p-heavy" && rows[1].1 == nil && rows[1].2 == nil)
        }
    }

    @Test("donations projected before the history was one row per donation get their times from the event log", arguments: TestDatabase.all)
    func donationTimes(database: TestDatabase) async throws {
        try await database.withFreshClient { client in
            let before = Migrator(service: "campaign", migrations: Array(CampaignMigrations.all.prefix(3)), logger: TestLogging.logger)
            try await before.migrate(client)
            try await client.withConnection { db in
                for id in ["p-logged", "p-unlogged"] {
                    try await db.raw("""
                        INSERT INTO campaign_pledges (pledge_id, campaign_id, amount, currency, status, details_known, updated_at)
                        VALUES (\(bind: id), 'c1', 100, 'USD', 'CAPTURED', 1, '2026-03-03T00:00:00.000Z')
                        """).run()
                }
                for (event, time) in [("e1", "2026-01-01T10:00:00.000Z"), ("e2", "2026-01-01T10:00:05.000Z"), ("e3", "2026-01-01T10:00:02.000Z")] {
                    try await db.raw("""
                        INSERT INTO campaign_event_log (event_id, type, source, campaign_id, pledge_id, occurred_at, received_at, effect, payload)
                        VALUES (\(bind: event), 'PLEDGE_CREATED', 'test', 'c1', 'p-logged', \(bind: time), '2026-03-03T00:00:00.000Z', 'new_pledge', '{}')
                        """).run()
                }
            }
            try await Migrator(service: "campaign", migrations: CampaignMigrations.all, logger: TestLogging.logger).migrate(client)
            let rows = try await client.withConnection { db in
                try await db.raw("SELECT pledge_id, created_at, last_event_at FROM campaign_pledges ORDER BY pledge_id").all().map {
                    [try $0.decode(column: "pledge_id", as: String.self), try $0.decode(column: "created_at", as: String.self),
                     try $0.decode(column: "last_event_at", as: String.self)]
                }
            }
            #expect(rows == [
                ["p-logged", "2026-01-01T10:00:00.000Z", "2026-01-01T10:00:05.000Z"],
                // No events logged for it: the time it was last projected stands for both.
                ["p-unlogged", "2026-03-03T00:00:00.000Z", "2026-03-03T00:00:00.000Z"],
            ])
        }
    }

    @Test("campaigns that had pledges before the currency lock existed come out locked; the others do not", arguments: TestDatabase.all)
    func currencyLockBackfill(database: TestDatabase) async throws {
        try await database.withFreshClient { client in
            let lockIndex = try #require(CampaignMigrations.all.firstIndex { $0.name == "008_currency_lock" })
            let before = Migrator(service: "campaign", migrations: Array(CampaignMigrations.all.prefix(lockIndex)), logger: TestLogging.logger)
            try await before.migrate(client)
            try await client.withConnection { db in
                for (id, pledges) in [("c-pledged", 2), ("c-empty", 0)] {
                    try await db.raw("""
                        INSERT INTO campaigns (id, title, description, goal_amount, currency, status, created_at, updated_at)
                        VALUES (\(bind: id), 'T', '', 1000, 'USD', 'active', '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')
                        """).run()
                    try await db.raw("""
                        INSERT INTO campaign_rollups (campaign_id, pending_amount, authorized_amount, captured_amount, failed_amount, total_pledges,
                            total_payments, updated_at)
                        VALUES (\(bind: id), 0, 0, 0, 0, \(bind: pledges), 0, '2026-01-01T00:00:00.000Z')
                        """).run()
                }
            }
            try await Migrator(service: "campaign", migrations: CampaignMigrations.all, logger: TestLogging.logger).migrate(client)
            let locked = try await client.withConnection { db in
                try await db.raw("SELECT id, currency_locked FROM campaigns ORDER BY id").all().map {
                    [try $0.decode(column: "id", as: String.self): try $0.decode(column: "currency_locked", as: Int.self)]
                }
            }
            #expect(locked == [["c-empty": 0], ["c-pledged": 1]])
        }
    }
}
