import Contracts
import Auth
import Foundation
import HTTPSupport
import Hummingbird
import Persistence
import Logging

/// Operator tools: rebuild a campaign's read model (from its event log, or the rollup from the
/// projection), and look at the ingested events.
public struct CampaignAdminController: Sendable {
    let store: any CampaignStore
    /// Told when a rebuild moved a campaign's totals (streams wake, the read cache re-reads).
    let changes: CampaignChanges
    let clock: any StoreClock

    public init(store: any CampaignStore, clock: any StoreClock, changes: CampaignChanges = CampaignChanges()) {
        self.store = store
        self.clock = clock
        self.changes = changes
    }

    public func addRoutes(to group: RouterGroup<AppRequestContext>) {
        let admin = group.group().add(middleware: RequireRoleMiddleware(.admin))
        admin.post(":id/rebuild", use: rebuild)
        admin.get(":id/events", use: events)
    }

    struct RebuildResponse: ResponseEncodable {
        let campaignId: CampaignID
        let from: String
        let dryRun: Bool
        let before: CampaignTotals
        let after: CampaignTotals
        let differences: [PledgeDifference]
        /// The replayed (or recomputed) read model replaced the live one.
        let swapped: Bool
        /// The totals differed.
        let driftCorrected: Bool
        let events: Int?
    }

    /// `POST /campaigns/{id}/rebuild?from=events|projection&dry_run=`: `events` (the default)
    /// replays the campaign's event log into a fresh projection and rollup; `projection`
    /// recomputes the rollup from the projection. 404 for a campaign that does not exist.
    @Sendable func rebuild(_ request: Request, context: AppRequestContext) async throws -> RebuildResponse {
        let id = CampaignID(try context.parameters.require("id"))
        let query = request.uri.queryParameters
        let from = query["from"].map(String.init) ?? "events"
        let dryRun: Bool
        switch query["dry_run"].map(String.init) {
        case nil, "false", "0": dryRun = false
        case "true", "1": dryRun = true
        default: throw APIError.invalidParameter("dry_run", "must be true or false")
        }
        // A replay needs a campaign: an unknown id is 404, not an empty rollup made for it.
        guard try await store.find(id: id) != nil else { throw CampaignServiceError.campaignNotFound }
        let response: RebuildResponse
        switch from {
        case "events":
            let result = try await store.rebuildFromEvents(campaignId: id, dryRun: dryRun, at: clock.timestamp())
            response = RebuildResponse(
                campaignId: id, from: from, dryRun: dryRun, before: result.before, after: result.after, differences: result.differences,
                swapped: result.swapped, driftCorrected: !dryRun && result.before != result.after, events: result.events
            )
        case "projection":
            guard !dryRun else { throw APIError.invalidParameter("dry_run", "is only for from=events") }
            let result = try await store.rebuildRollup(campaignId: id, at: clock.timestamp())
            response = RebuildResponse(
                campaignId: id, from: from, dryRun: false, before: result.before, after: result.after, differences: [],
                swapped: result.driftCorrected, driftCorrected: result.driftCorrected, events: nil
            )
        default:
            throw APIError.invalidParameter("from", "must be events or projection")
        }
        if response.swapped {
            changes.changed(campaignId: id)
            context.logger.warning("campaign read model rebuilt with changes", metadata: [
                "campaign_id": .string(id.rawValue), "from": .string(from), "before": "\(response.before)", "after": "\(response.after)",
                "differences": .stringConvertible(response.differences.count),
            ])
        }
        return response
    }

    @Sendable func events(_ request: Request, context: AppRequestContext) async throws -> Page<IngestedEventResponse> {
        let id = CampaignID(try context.parameters.require("id"))
        let page = try PageRequest(request: request)
        let pledgeId = request.uri.queryParameters["pledge_id"].map(String.init).flatMap { $0.isEmpty ? nil : PledgeID($0) }
        let rows = try await store.events(campaignId: id, pledgeId: pledgeId, limit: page.limit, after: page.cursor)
        return Page(rows: rows, limit: page.limit, item: { $0 }) { PageCursor(sortKey: $0.receivedAt, id: $0.eventId) }
    }
}
