import Contracts
import Foundation
import HTTPSupport
import HTTPTypes
import HummingbirdTesting
import Persistence
import SQLKit
import Testing
import TestSupport
@testable import CampaignService

extension CampaignHarness {
    /// The `CAMPAIGN_GOAL_REACHED` events in campaign-service's outbox.
    func goalEvents() async throws -> [CampaignGoalReached] {
        try await Databases.withClient(databaseURL, logger: TestLogging.logger) { client in
            try await client.withConnection { db in
                try await db.raw("SELECT payload FROM outbox WHERE destination = 'notification-events' ORDER BY created_at").all().map { row in
                    let envelope = try WireCoding.decoder.decode(NotificationEnvelope.self, from: Data(try row.decode(column: "payload", as: String.self).utf8))
                    guard case .campaignGoalReached(let goal) = envelope.data else { throw GoalTestError.otherEvent }
                    return goal
                }
            }
        }
    }
}

enum GoalTestError: Error { case otherEvent }

@Suite("campaign-service: goal reached")
struct GoalReachedTests {
    @Test("the capture that reaches the goal writes CAMPAIGN_GOAL_REACHED once; more captures, refunds below the goal and captures again do not", arguments: TestDatabase.all)
    func once(database: TestDatabase) async throws {
        try await withCampaignService(database) { harness in
            let campaign = try await harness.createCampaign(["goal_amount": 1000, "title": "Water for all"])
            let first = PledgeEvents(campaignId: campaign.id, amount: 600)
            #expect(try await harness.send([first.created(), first.captured()], batch: true).status == .ok)
            #expect(try await harness.goalEvents().isEmpty)

            let second = PledgeEvents(campaignId: campaign.id, amount: 500)
            _ = try await harness.send([second.created(), second.captured(), second.captured()], batch: true)
            var goals = try await harness.goalEvents()
            #expect(goals == [CampaignGoalReached(campaignId: campaign.id, title: "Water for all", goalAmount: 1000, capturedAmount: 1100, currency: Currency(rawValue: "USD")!)])

            let third = PledgeEvents(campaignId: campaign.id, amount: 300)
            _ = try await harness.send([third.created(), third.captured(), first.refunded(cumulative: 600)], batch: true)
            let fourth = PledgeEvents(campaignId: campaign.id, amount: 900)
            _ = try await harness.send([fourth.created(), fourth.captured()], batch: true)
            goals = try await harness.goalEvents()
            #expect(goals.count == 1)
            #expect(try await harness.campaign(campaign.id).capturedAmount == 1700)
        }
    }
}
