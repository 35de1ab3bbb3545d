import Contracts
import Auth
import Foundation
import HTTPSupport
import Hummingbird
import NIOCore
import Persistence
import Logging

/// `/campaigns`: the public list, one campaign, its live totals stream, its donation history;
/// admins create, edit and close.
public struct CampaignController: Sendable {
    let store: any CampaignStore
    /// Wakes live streams when an ingested event moved a campaign.
    let changes: CampaignChanges
    let streams: StreamConfig
    let streamSlots: StreamSlots
    /// Campaign reads between changes; nil reads the database every time.
    let cache: CampaignReadCache?
    let clock: any StoreClock

    public init(
        store: any CampaignStore, clock: any StoreClock, changes: CampaignChanges = CampaignChanges(), streams: StreamConfig = StreamConfig(),
        cache: CampaignReadCache? = nil
    ) {
        self.store = store
        self.clock = clock
        self.changes = changes
        self.streams = streams
        self.streamSlots = StreamSlots(total: streams.maximumStreams)
        self.cache = cache
    }

    public func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get(use: list)
        group.get(":id", use: show)
        group.get(":id/donations", use: donations)
        group.get(":id/stream", use: stream)
        let admin = group.group().add(middleware: RequireRoleMiddleware(.admin))
        admin.post(use: create)
        admin.patch(":id", use: update)
        admin.delete(":id", use: close)
    }

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Page<CampaignResponse> {
        let page = try PageRequest(request: request)
        var status: CampaignStatus?
        if let raw = request.uri.queryParameters["status"].map(String.init), !raw.isEmpty {
            guard let parsed = CampaignStatus(rawValue: raw) else { throw CampaignServiceError.invalidStatus }
            status = parsed
        }
        let isAdmin = context.principal?.isAdmin == true
        // Drafts are work in progress: only admins see them, even when asked for by status.
        if status == .draft && !isAdmin {
            return Page(items: [], nextCursor: nil)
        }
        let rows = try await store.list(status: status, includeDrafts: isAdmin, limit: page.limit, after: page.cursor)
        return Page(rows: rows, limit: page.limit, item: CampaignResponse.init) { PageCursor(sortKey: $0.createdAt, id: $0.id.rawValue) }
    }

    @Sendable func show(_ request: Request, context: AppRequestContext) async throws -> CampaignResponse {
        CampaignResponse(try await visibleCampaign(request, context))
    }

    @Sendable func donations(_ request: Request, context: AppRequestContext) async throws -> Page<DonationResponse> {
        let campaign = try await visibleCampaign(request, context)
        let page = try PageRequest(request: request)
        let rows = try await store.donations(campaignId: campaign.id, limit: page.limit, after: page.cursor)
        return Page(rows: rows, limit: page.limit, item: { $0 }) { PageCursor(sortKey: $0.createdAt, id: $0.pledgeId.rawValue) }
    }

    @Sendable func create(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<CampaignResponse> {
        let input = try await request.decode(as: CampaignInput.self, context: context)
        let campaign = try input.newCampaign(id: .new(), at: clock.timestamp())
        try await store.create(campaign)
        context.logger.info("campaign created", metadata: ["campaign_id": .string(campaign.id.rawValue)])
        return CampaignResponse(campaign).with(status: .created)
    }

    @Sendable func update(_ request: Request, context: AppRequestContext) async throws -> CampaignResponse {
        let id = CampaignID(try context.parameters.require("id"))
        let input = try await request.decode(as: CampaignInput.self, context: context)
        guard let campaign = try await store.update(id: id, at: clock.timestamp(), { try input.apply(to: &$0) }) else {
            throw CampaignServiceError.campaignNotFound
        }
        changes.changed(campaignId: id)
        context.logger.info("campaign updated", metadata: ["campaign_id": .string(id.rawValue)])
        return CampaignResponse(campaign)
    }

    /// Closing is the only delete: the campaign stops taking pledges and its history stays.
    @Sendable func close(_ request: Request, context: AppRequestContext) async throws -> CampaignResponse {
        let id = CampaignID(try context.parameters.require("id"))
        guard let campaign = try await store.update(id: id, at: clock.timestamp(), { $0.status = .closed }) else {
            throw CampaignServiceError.campaignNotFound
        }
        changes.changed(campaignId: id)
        context.logger.info("campaign closed", metadata: ["campaign_id": .string(id.rawValue)])
        return CampaignResponse(campaign)
    }

    /// The campaign named in the path, if this caller may see it (drafts: admins only; others 404).
    /// From the read cache when it has the campaign current, unless the request says
    /// `Cache-Control: no-cache` (payment-service, checking a campaign still takes money).
    func visibleCampaign(_ request: Request, _ context: AppRequestContext) async throws -> Campaign {
        let id = CampaignID(try context.parameters.require("id"))
        let found: Campaign?
        if let cache, request.headers[.cacheControl]?.contains("no-cache") != true {
            found = try await cache.campaign(id: id) { try await store.find(id: id) }
        } else {
            found = try await store.find(id: id)
        }
        guard let campaign = found, campaign.status != .draft || context.principal?.isAdmin == true else {
            throw CampaignServiceError.campaignNotFound
        }
        return campaign
    }
}
