import Contracts
import Foundation
import HTTPSupport
import HTTPTypes
import HummingbirdTesting
import NIOCore
import NIOFoundationEssentialsCompat
import Signatures
import Testing
import TestSupport
@testable import PledgeService

@Suite("pledge-service: reconciliation's signed routes")
struct LedgerRouteTests {
    @Test("the summary counts and sums by status with pages of entries; its query is signed with it; resend puts a pledge's events back", arguments: TestDatabase.all)
    func summaryAndResend(database: TestDatabase) async throws {
        try await withPledgeService(database) { harness in
            let first = try await harness.pledge(["amount": 400]).json(PledgeResponse.self)
            let second = try await harness.pledge(["amount": 600]).json(PledgeResponse.self)
            _ = try await harness.webhook(second.id, "CAPTURED")
            func summary(_ query: String, signedQuery: String? = nil, secret: String? = pledgeSecret) async throws -> TestResponse {
                var headers: HTTPFields = [:]
                if let secret {
                    headers[.careForAllSignature] = SignatureScheme(secret: secret).sign(
                        method: "GET", path: "/pledges/internal/summary?" + (signedQuery ?? query), body: Data()
                    )
                }
                return try await harness.client.execute(uri: "/pledges/internal/summary?" + query, method: .get, headers: headers)
            }
            let campaign = harness.campaignId
            let answer = try await summary("campaign_id=\(campaign)")
            #expect(answer.status == .ok)
            let ledger = try WireCoding.decoder.decode(CampaignLedger.self, from: Data(buffer: answer.body))
            #expect(ledger.counts == ["PENDING": 1, "CAPTURED": 1] && ledger.amounts == ["PENDING": 400, "CAPTURED": 600] && ledger.entries == nil)

            let page = try WireCoding.decoder.decode(CampaignLedger.self, from: Data(buffer: try await summary("campaign_id=\(campaign)&entries=true&limit=1").body))
            let ids = [first.id, second.id].sorted()
            #expect(page.entries?.map(\.pledgeId) == [ids[0]] && page.nextAfter == ids[0])
            let rest = try WireCoding.decoder.decode(CampaignLedger.self, from: Data(buffer: try await summary("campaign_id=\(campaign)&entries=true&limit=1&after=\(ids[0])").body))
            #expect(rest.entries?.map(\.pledgeId) == [ids[1]] && rest.nextAfter == nil)

            #expect(try await summary("campaign_id=\(campaign)", secret: nil).status == .unauthorized)
            #expect(try await summary("campaign_id=\(campaign)", secret: "guess").status == .unauthorized)
            // A signature made for another campaign's summary does not open this one.
            #expect(try await summary("campaign_id=\(campaign)", signedQuery: "campaign_id=other").status == .unauthorized)

            let body = try WireCoding.encoder.encode(ResendRequest(pledgeIds: [second.id]))
            var headers: HTTPFields = [.contentType: "application/json"]
            headers[.careForAllSignature] = SignatureScheme(secret: pledgeSecret).sign(path: "/pledges/internal/resend", body: body)
            let resent = try await harness.client.execute(uri: "/pledges/internal/resend", method: .post, headers: headers, body: ByteBuffer(data: body))
            #expect(resent.status == .ok && resent.text == #"{"resent":2}"#, "PLEDGE_CREATED and PLEDGE_STATUS_CHANGED: \(resent.text)")
        }
    }
}
