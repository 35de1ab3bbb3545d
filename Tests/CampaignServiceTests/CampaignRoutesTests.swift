import Foundation
import HTTPTypes
import HummingbirdTesting
import NIOCore
import Testing
import ServiceClient
import Signatures
import TestSupport
@testable import CampaignService
import Contracts

@Suite("campaign-service: campaigns")
struct CampaignRoutesTests {
    @Test("an admin creates a campaign: 201, active by default, zero totals", arguments: TestDatabase.all)
    func create(database: TestDatabase) async throws {
        try await withCampaignService(database) { harness in
            let campaign = try await harness.createCampaign(["title": "  Flood relief ", "description": "Sylhet", "currency": "bdt"])
            #expect(campaign.title == "Flood relief")
            #expect(campaign.description == "Sylhet")
            #expect(campaign.goalAmount == 100_000)
            #expect(campaign.currency == "BDT")
            #expect(campaign.status == .active)
            #expect(campaign.totals == CampaignTotals())
            #expect(campaign.currentAmount == 0)
            #expect(try await harness.campaign(campaign.id) == campaign)
        }
    }

    @Test("invalid fields get field-specific 400 codes", arguments: TestDatabase.all)
    func validation(database: TestDatabase) async throws {
        let cases: [([String: any Sendable], String)] = [
            (["title": ""], "invalid_title"), (["title": "   "], "invalid_title"),
            (["title": String(repeating: "t", count: 201)], "invalid_title"), (["title": 7], "invalid_title"),
            (["title": "t" + String(repeating: "\u{301}", count: 1_000)], "invalid_title"),
            (["description": "d" + String(repeating: "\u{301}", count: 30_000)], "invalid_description"),
            (["goal_amount": 0], "invalid_goal_amount"), (["goal_amount": -5], "invalid_goal_amount"),
            (["goal_amount": 2.5], "invalid_goal_amount"), (["goal_amount": "100"], "invalid_goal_amount"),
            (["currency": "XYZ"], "invalid_currency"), (["currency": 840], "invalid_currency"),
            (["status": "open"], "invalid_status"),
            (["description": String(repeating: "d", count: 10_001)], "invalid_description"),
        ]
        try await withCampaignService(database) { harness in
            for (override, code) in cases {
                var body: [String: any Sendable] = ["title": "T", "goal_amount": 100, "currency": "USD"]
                body.merge(override) { _, new in new }
                let response = try await harness.client.execute(uri: "/campaigns", method: .post, headers: .bearer(harness.adminToken), body: ByteBuffer(json: body))
                #expect(response.status == .badRequest, "\(override)")
                #expect(response.errorCode == code, "\(override)")
            }
            for (missing, code) in [("title", "invalid_title"), ("goal_amount", "invalid_goal_amount"), ("currency", "invalid_currency")] {
                var body: [String: any Sendable] = ["title": "T", "goal_amount": 100, "currency": "USD"]
                body[missing] = nil
                let response = try await harness.client.execute(uri: "/campaigns", method: .post, headers: .bearer(harness.adminToken), body: ByteBuffer(json: body))
                #expect(response.errorCode == code, "missing \(missing)")
            }
            let malformed = try await harness.client.execute(uri: "/campaigns", method: .post, headers: .bearer(harness.adminToken), body: ByteBuffer(string: "{title"))
            #expect(malformed.status == .badRequest && malformed.errorCode == "invalid_json")
        }
    }

    @Test("only admins manage campaigns: donors 403, no token 401", arguments: TestDatabase.all)
    func adminOnly(database: TestDatabase) async throws {
        try await withCampaignService(database) { harness in
            let campaign = try await harness.createCampaign()
            let body = ByteBuffer(json: ["title": "Mine now"])
            for (method, uri) in [(HTTPRequest.Method.post, "/campaigns"), (.patch, "/campaigns/\(campaign.id)"), (.delete, "/campaigns/\(campaign.id)"),
                                  (.post, "/campaigns/\(campaign.id)/rebuild"), (.get, "/campaigns/\(campaign.id)/events")] {
                let donor = try await harness.client.execute(uri: uri, method: method, headers: .bearer(harness.donorToken), body: body)
                #expect(donor.status == .forbidden && donor.errorCode == "forbidden", "\(method) \(uri)")
                let anonymous = try await harness.client.execute(uri: uri, method: method, headers: .json, body: body)
                #expect(anonymous.status == .unauthorized && anonymous.errorCode == "unauthorized", "\(method) \(uri)")
            }
            #expect(try await harness.campaign(campaign.id).title == "Clean water")
        }
    }

    @Test("the list pages newest first, filters by status, and shows drafts to admins only", arguments: TestDatabase.all)
    func list(database: TestDatabase) async throws {
        try await withCampaignService(database) { harness in
            var created: [CampaignResponse] = []
            for index in 0..<5 { created.append(try await harness.createCampaign(["title": "Campaign \(index)"])) }
            let draft = try await harness.createCampaign(["title": "Secret", "status": "draft"])
            let paused = try await harness.createCampaign(["title": "Resting", "status": "paused"])

            var seen: [CampaignResponse] = []
            var cursor: String?
            repeat {
                let response = try await harness.client.execute(uri: "/campaigns?limit=3" + (cursor.map { "&cursor=\($0)" } ?? ""), method: .get)
                #expect(response.status == .ok)
                let page = try response.json(PageBody<CampaignResponse>.self)
                seen += page.items
                cursor = page.nextCursor
            } while cursor != nil && seen.count < 50
            #expect(seen.count == 6)
            #expect(!seen.contains { $0.id == draft.id })
            #expect(seen.map(\.createdAt) == seen.map(\.createdAt).sorted(by: >))

            let active = try await harness.client.execute(uri: "/campaigns?status=active", method: .get).json(PageBody<CampaignResponse>.self)
            #expect(active.items.count == 5 && active.items.allSatisfy { $0.status == .active })
            let pausedOnly = try await harness.client.execute(uri: "/campaigns?status=paused", method: .get).json(PageBody<CampaignResponse>.self)
            #expect(pausedOnly.items.map(\.id) == [paused.id])
            let publicDrafts = try await harness.client.execute(uri: "/campaigns?status=draft", method: .get).json(PageBody<CampaignResponse>.self)
            #expect(publicDrafts.items.isEmpty)
            let adminAll = try await harness.client.execute(uri: "/campaigns?limit=100", method: .get, headers: .bearer(harness.adminToken)).json(PageBody<CampaignResponse>.self)
            #expect(adminAll.items.count == 7)

            let badStatus = try await harness.client.execute(uri: "/campaigns?status=open", method: .get)
            #expect(badStatus.status == .badRequest && badStatus.errorCode == "invalid_status")
            let badLimit = try await harness.client.execute(uri: "/campaigns?limit=101", method: .get)
            #expect(badLimit.status == .badRequest && badLimit.errorCode == "invalid_parameter")
            let badCursor = try await harness.client.execute(uri: "/campaigns?cursor=zzz", method: .get)
            #expect(badCursor.status == .badRequest && badCursor.errorCode == "invalid_cursor")
        }
    }

    @Test("an unknown campaign and a draft seen by the public are 404", arguments: TestDatabase.all)
    func notFound(database: TestDatabase) async throws {
        try await withCampaignService(database) { harness in
            let draft = try await harness.createCampaign(["status": "draft"])
            for uri in ["/campaigns/\(UUID().uuidString.lowercased())", "/campaigns/\(draft.id)", "/campaigns/\(draft.id)/donations"] {
                let response = try await harness.client.execute(uri: uri, method: .get)
                #expect(response.status == .notFound && response.errorCode == "not_found", "\(uri)")
            }
            #expect(try await harness.campaign(draft.id, token: harness.adminToken).status == .draft)
            let patchMissing = try await harness.client.execute(
                uri: "/campaigns/\(UUID().uuidString.lowercased())", method: .patch, headers: .bearer(harness.adminToken), body: ByteBuffer(json: ["title": "x"])
            )
            #expect(patchMissing.status == .notFound)
        }
    }

    @Test("PATCH edits fields; DELETE closes and keeps the campaign; a closed campaign no longer changes", arguments: TestDatabase.all)
    func editAndClose(database: TestDatabase) async throws {
        try await withCampaignService(database) { harness in
            let campaign = try await harness.createCampaign()
            let patched = try await harness.client.execute(
                uri: "/campaigns/\(campaign.id)", method: .patch, headers: .bearer(harness.adminToken),
                body: ByteBuffer(json: ["title": "Clean water for 100 villages", "goal_amount": 250_000, "status": "paused"])
            )
            #expect(patched.status == .ok)
            let updated = try patched.json(CampaignResponse.self)
            #expect(updated.title == "Clean water for 100 villages" && updated.goalAmount == 250_000 && updated.status == .paused)
            #expect(updated.updatedAt >= campaign.updatedAt)

            let invalid = try await harness.client.execute(
                uri: "/campaigns/\(campaign.id)", method: .patch, headers: .bearer(harness.adminToken), body: ByteBuffer(json: ["goal_amount": -1])
            )
            #expect(invalid.errorCode == "invalid_goal_amount")

            let closed = try await harness.client.execute(uri: "/campaigns/\(campaign.id)", method: .delete, headers: .bearer(harness.adminToken))
            #expect(closed.status == .ok)
            #expect(try closed.json(CampaignResponse.self).status == .closed)
            #expect(try await harness.campaign(campaign.id).status == .closed)
            let reopen = try await harness.client.execute(
                uri: "/campaigns/\(campaign.id)", method: .patch, headers: .bearer(harness.adminToken), body: ByteBuffer(json: ["status": "active"])
            )
            #expect(reopen.status == .conflict && reopen.errorCode == "campaign_closed")
            let closeAgain = try await harness.client.execute(uri: "/campaigns/\(campaign.id)", method: .delete, headers: .bearer(harness.adminToken))
            #expect(closeAgain.status == .ok)
        }
    }

    @Test("the currency is fixed once a pledge has been counted", arguments: TestDatabase.all)
    func currencyLocked(database: TestDatabase) async throws {
        try await withCampaignService(database) { harness in
            let campaign = try await harness.createCampaign()
            let change = ByteBuffer(json: ["currency": "EUR"])
            let before = try await harness.client.execute(uri: "/campaigns/\(campaign.id)", method: .patch, headers: .bearer(harness.adminToken), body: change)
            #expect(try before.json(CampaignResponse.self).currency == "EUR")
            var pledge = PledgeEvents(campaignId: campaign.id, amount: 500)
            pledge.currency = .init(rawValue: "EUR")!
            #expect(try await harness.send([pledge.created()]).status == .ok)
            let after = try await harness.client.execute(
                uri: "/campaigns/\(campaign.id)", method: .patch, headers: .bearer(harness.adminToken), body: ByteBuffer(json: ["currency": "USD"])
            )
            #expect(after.status == .conflict && after.errorCode == "currency_locked")
        }
    }

    @Test("a campaign pledge-service was told takes pledges in its currency keeps that currency, before any pledge event arrives", arguments: TestDatabase.all)
    func pledgeableLocksCurrency(database: TestDatabase) async throws {
        try await withCampaignService(database, live: true) { harness in
            let port = try #require(harness.client.port)
            let campaign = try await harness.createCampaign()
            let directory = HTTPCampaignDirectory(
                baseURL: "http://127.0.0.1:\(port)", freshness: .pledges, signatures: SignatureScheme(secret: internalSecret), client: .testing
            )
            func patch(_ currency: String) async throws -> TestResponse {
                try await harness.client.execute(
                    uri: "/campaigns/\(campaign.id)", method: .patch, headers: .bearer(harness.adminToken), body: ByteBuffer(json: ["currency": currency])
                )
            }
            // A pledge refused for its currency locks nothing, and its answer, remembered, does not
            // let a later pledge through after the currency changed (the attack: EUR refused, USD
            // -> JPY, then USD within the cache's 5 s).
            let refused = try #require(try await directory.pledgeable(id: campaign.id, currency: "EUR"))
            #expect(refused.currency == "USD" && refused.currencyLocked == false)
            #expect(try await patch("JPY").status == .ok)
            let afterChange = try #require(try await directory.pledgeable(id: campaign.id, currency: "USD"))
            #expect(afterChange.currency == "JPY", "a remembered answer that locked nothing was used for a pledge")
            // A pledge in the campaign's currency fixes it, though no pledge event has arrived yet.
            let taken = try #require(try await directory.pledgeable(id: campaign.id, currency: "JPY"))
            #expect(taken.currency == "JPY" && taken.currencyLocked == true)
            let locked = try await patch("USD")
            #expect(locked.status == .conflict && locked.errorCode == "currency_locked")
            // A paused campaign takes no pledge, so its currency is not locked by being asked.
            let other = try await harness.createCampaign(["status": "paused"])
            let paused = try #require(try await directory.pledgeable(id: other.id, currency: "USD"))
            #expect(paused.status == "paused" && paused.currencyLocked == false)
            // The route is internal: unsigned, it is refused.
            let unsigned = try await harness.client.execute(
                uri: "/campaigns/internal/pledgeable", method: .post, body: ByteBuffer(json: ["campaign_id": campaign.id, "currency": "JPY"])
            )
            #expect(unsigned.status == .unauthorized)
            #expect(try await directory.pledgeable(id: .new(), currency: "USD") == nil)
        }
    }
}
