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
}
