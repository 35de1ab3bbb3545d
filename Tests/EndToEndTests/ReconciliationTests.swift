import AsyncHTTPClient
import Foundation
import Persistence
import PlatformConfig
import SQLKit
import Testing
import TestSupport

/// Reconciliation across services, with drift made on purpose.
@Suite("End to end: reconciliation finds an event lost between services and repairs it", .serialized)
struct ReconciliationTests {
    @Test("a pledge campaign-service never heard of is found, named down to its id, mailed to the admins, and repaired by sending its events again")
    func lostEvent() async throws {
        let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("careforall-e2e-\(UUID().uuidString)").path
        defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
        try await withDevPlatform(dataDirectory: dataDirectory) { platform in
            let api = platform.gateway + "/api"
            let admin = try await platform.adminToken()
            let campaignId = try #require(try await HTTPClient.testing.send(
                "POST", api + "/campaigns", json: ["title": "Reconciled", "goal_amount": 100_000, "currency": "USD", "status": "active"], bearer: admin
            ).json()["id"] as? String)
            func pledge(_ amount: Int, key: String) async throws -> [String: Any] {
                try await HTTPClient.testing.send(
                    "POST", api + "/pledges", json: ["campaign_id": campaignId, "amount": amount, "currency": "USD", "donor": ["name": "Lou", "email": "lou@example.org"]],
                    headers: ["Idempotency-Key": key + "-0123456789abcdef0123"]
                ).json()
            }
            let paid = try await pledge(2500, key: "paid")
            _ = try await HTTPClient.testing.send(
                "POST", api + "/payments?receipt_token=\(paid["receipt_token"] as? String ?? "")", json: ["pledge_id": paid["id"] as? String ?? ""]
            )
            let lost = try #require(try await pledge(700, key: "lost")["id"] as? String)
            @Sendable func campaign() async throws -> [String: Any] { try await HTTPClient.testing.get(api + "/campaigns/\(campaignId)").json() }
            #expect(try await eventually(timeout: .seconds(20)) {
                let totals = try await campaign()
                return totals["captured_amount"] as? Int == 2500 && totals["pending_amount"] as? Int == 700
            })
            @Sendable func reconcile(repair: Bool = false) async throws -> [String: Any] {
                try await HTTPClient.testing.send("POST", api + "/campaigns/admin/reconcile?repair=\(repair)", json: [:], bearer: admin).json()
            }
            let clean = try await reconcile()
            #expect((clean["drift"] as? [Any])?.isEmpty == true && clean["campaigns_checked"] as? Int == 1, "\(clean)")

            // campaign-service loses the pledge, as if the event had never arrived (a restore from an older backup).
            try await Databases.withClient(try DatabaseURL("sqlite://" + dataDirectory + "/campaign.sqlite"), logger: TestLogging.logger) { client in
                try await client.transaction { db in
                    try await db.raw("DELETE FROM campaign_event_log WHERE pledge_id = \(bind: lost)").run()
                    try await db.raw("DELETE FROM campaign_pledges WHERE pledge_id = \(bind: lost)").run()
                    try await db.raw("DELETE FROM donation_history WHERE pledge_id = \(bind: lost)").run()
                    try await db.raw("""
                        UPDATE campaign_rollups SET pending_amount = pending_amount - 700, total_pledges = total_pledges - 1 WHERE campaign_id = \(bind: campaignId)
                        """).run()
                }
            }
            let found = try await reconcile()
            let drift = try #require(found["drift"] as? [[String: Any]])
            let fields = Set(drift.compactMap { $0["field"] as? String })
            #expect(fields == ["pledges.count.PENDING", "pledges.amount.PENDING"], "\(drift)")
            #expect(drift.allSatisfy { $0["pledge_ids"] as? [String] == [lost] && $0["campaign_id"] as? String == campaignId })
            let amount = try #require(drift.first { $0["field"] as? String == "pledges.amount.PENDING" })
            #expect(amount["expected"] as? Int == 700 && amount["actual"] as? Int == 0)
            print("reconciliation report with drift injected:", String(decoding: try JSONSerialization.data(withJSONObject: found, options: [.sortedKeys, .prettyPrinted]), as: UTF8.self))

            let runs = try await HTTPClient.testing.get(api + "/campaigns/admin/reconciliations", bearer: admin).json()["items"] as? [[String: Any]] ?? []
            #expect(runs.count == 2 && runs.first?["run_id"] as? String == found["run_id"] as? String)
            #expect(try await eventually(timeout: .seconds(20)) {
                let mails = try await HTTPClient.testing.get(api + "/notifications?kind=reconciliation_drift", bearer: admin).json()["items"] as? [[String: Any]] ?? []
                return mails.first?["status"] as? String == "SENT" && (mails.first?["recipients"] as? [String]) == [PlatformConfig.defaultAdminEmail]
            }, "the drift is mailed to the admins")

            // The repair: pledge-service sends the pledge's events again; campaign-service takes what it lacks.
            let repaired = try await reconcile(repair: true)
            #expect(repaired["repaired"] as? Bool == true && (repaired["resent"] as? Int ?? 0) >= 1, "\(repaired)")
            #expect(try await eventually(timeout: .seconds(20)) {
                let totals = try await campaign()
                return totals["pending_amount"] as? Int == 700 && totals["total_pledges"] as? Int == 2
            })
            let after = try await reconcile()
            #expect((after["drift"] as? [Any])?.isEmpty == true, "\(after)")
        }
    }
}
