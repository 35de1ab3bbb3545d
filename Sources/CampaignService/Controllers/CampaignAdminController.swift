import Auth
import Foundation
import HTTPSupport
import Hummingbird
import Persistence
import Logging

/// Operator tools: rebuild a rollup from the projection, and look at the ingested events.
public struct CampaignAdminController: Sendable {
    let store: any CampaignStore
    /// Told when a rebuild moved a campaign's totals (streams wake, the read cache re-reads).
    let changes: CampaignChanges

    public init(store: any CampaignStore, changes: CampaignChanges = CampaignChanges()) {
        self.store = store
        self.changes = changes
    }

    public func addRoutes(to group: RouterGroup<AppRequestContext>) {
        let admin = group.group().add(middleware: RequireRoleMiddleware(.admin))
        admin.post(":id/rebuild", use: rebuild)
        admin.get(":id/events", use: events)
    }

    struct RebuildResponse: ResponseEncodable {
        let campaignId: String
        let driftCorrected: Bool
        let before: CampaignTotals
        let after: CampaignTotals
    }

    /// Works for a campaign id that only events know, too (a replay ahead of the campaign's data).
    @Sendable func rebuild(_ request: Request, context: AppRequestContext) async throws -> RebuildResponse {
        let id = try context.parameters.require("id")
        let result = try await store.rebuildRollup(campaignId: id, at: Timestamp.now())
        if result.driftCorrected {
            changes.changed(campaignId: id)
            context.logger.warning("rollup drift corrected", metadata: [
                "campaign_id": .string(id), "before": "\(result.before)", "after": "\(result.after)",
            ])
        }
        return RebuildResponse(campaignId: id, driftCorrected: result.driftCorrected, before: result.before, after: result.after)
    }

    @Sendable func events(_ request: Request, context: AppRequestContext) async throws -> Page<IngestedEventResponse> {
        let id = try context.parameters.require("id")
        let page = try PageRequest(request: request)
        let rows = try await store.events(campaignId: id, limit: page.limit, after: page.cursor)
        return Page(rows: rows, limit: page.limit, item: { $0 }) { PageCursor(sortKey: $0.receivedAt, id: $0.eventId) }
    }
}
