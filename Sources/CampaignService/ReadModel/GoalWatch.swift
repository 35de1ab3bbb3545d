import Contracts
import Foundation
import Outbox
import Persistence
import SQLKit

/// Tells notification-service, once per campaign, that its captured total has reached its goal:
/// in the transaction that moved the total, the campaign is marked (`goal_reached_at`, set once)
/// and `CAMPAIGN_GOAL_REACHED` goes into campaign-service's outbox. Refunds that bring the total
/// back below the goal do not unmark it, so nobody is told twice.
enum GoalWatch {
    /// Marks and announces each of `campaignIds` whose goal is reached and was not before;
    /// returns how many were.
    static func check(_ campaignIds: Set<CampaignID>, on db: any SQLDatabase, now: String) async throws -> Int {
        guard !campaignIds.isEmpty else { return 0 }
        let reached = try await db.raw("""
            UPDATE campaigns SET goal_reached_at = \(bind: now)
            WHERE id IN (\(binds: campaignIds.sorted())) AND goal_reached_at IS NULL
              AND goal_amount <= (SELECT captured_amount FROM campaign_rollups WHERE campaign_rollups.campaign_id = campaigns.id)
            RETURNING id, title, goal_amount, currency
            """).all()
        guard !reached.isEmpty else { return 0 }
        var captured: [CampaignID: Int64] = [:]
        let ids = try reached.map { try $0.decode(column: "id", known: CampaignID.self) }
        for row in try await db.raw("SELECT campaign_id, captured_amount FROM campaign_rollups WHERE campaign_id IN (\(binds: ids))").all() {
            captured[try row.decode(column: "campaign_id", known: CampaignID.self)] = try row.decode(column: "captured_amount", as: Int64.self)
        }
        let entries = try reached.map { row -> OutboxEntry in
            let id = try row.decode(column: "id", known: CampaignID.self)
            let event = NotificationEnvelope(
                eventId: UUID().uuidString.lowercased(), source: "campaign-service", occurredAt: now,
                data: .campaignGoalReached(CampaignGoalReached(
                    campaignId: id, title: try row.decode(column: "title", as: String.self),
                    goalAmount: try row.decode(column: "goal_amount", as: Int64.self), capturedAmount: captured[id] ?? 0,
                    currency: try row.decode(column: "currency", known: Currency.self)
                ))
            )
            return try OutboxEntry(event, destination: .notificationEvents)
        }
        try await Outbox.enqueue(entries, on: db, now: now)
        return entries.count
    }
}
