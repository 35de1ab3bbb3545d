import Contracts
import HTTPSupport
import Persistence

/// Persistence of campaigns and reads of their read model.
public protocol CampaignStore: Sendable {
    /// Inserts a campaign and its zeroed rollup together.
    func create(_ campaign: Campaign) async throws
    /// The campaign with its totals, read from the rollup.
    func find(id: CampaignID) async throws -> Campaign?
    /// Campaigns newest first, `limit + 1` rows after `cursor`; drafts only when `includeDrafts`.
    func list(status: CampaignStatus?, includeDrafts: Bool, limit: Int, after cursor: PageCursor?) async throws -> [Campaign]
    /// Changes a campaign under a row lock: `change` sees the current state and may throw to refuse.
    /// Returns nil when there is no such campaign.
    func update(id: CampaignID, at time: String, _ change: @escaping @Sendable (inout Campaign) throws -> Void) async throws -> Campaign?
    /// Fixes an active campaign's currency if it is `currency` (pledge-service is about to take
    /// pledges in it), and returns the campaign as it now is; nil when there is no such campaign.
    func lockCurrency(id: CampaignID, currency: Currency) async throws -> Campaign?
    /// The public history, newest first, `limit + 1` rows after `cursor`.
    func donations(campaignId: CampaignID, limit: Int, after cursor: PageCursor?) async throws -> [DonationResponse]
    /// Ingested events for the campaign (of one pledge, if named), newest first, `limit + 1` rows after `cursor`.
    func events(campaignId: CampaignID, pledgeId: PledgeID?, limit: Int, after cursor: PageCursor?) async throws -> [IngestedEventResponse]
    /// Recomputes the rollup from the per-pledge projection and returns what it had to correct.
    func rebuildRollup(campaignId: CampaignID, at time: String) async throws -> RollupRebuild
    /// Replays the campaign's event log into a fresh projection and rollup; with `dryRun`, only
    /// reports what would change.
    func rebuildFromEvents(campaignId: CampaignID, dryRun: Bool, at time: String) async throws -> EventLogRebuild
}

/// What a rebuild found: the totals before, the totals recomputed, and whether they differed.
public struct RollupRebuild: Sendable, Equatable, Codable {
    public let campaignId: CampaignID
    public let before: CampaignTotals
    public let after: CampaignTotals
    public var driftCorrected: Bool { before != after }
}
