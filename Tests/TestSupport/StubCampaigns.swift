import Contracts
import ServiceClient
import Synchronization

/// campaign-service as pledge- and payment-service see it, in memory: campaigns set by the test,
/// and an outage at will. An id never set is unknown, or (with `everyOtherIs`) a campaign of that
/// status.
public final class StubCampaigns: CampaignDirectory {
    private let state = Mutex<(campaigns: [CampaignID: CampaignSummary], down: Bool)>(([:], false))
    let everyOtherIs: String?

    public init(everyOtherIs status: String? = nil) {
        self.everyOtherIs = status
    }

    public func campaign(id: CampaignID) async throws -> CampaignSummary? {
        try state.withLock { state in
            if state.down { throw CampaignDirectoryError.unavailable }
            return state.campaigns[id] ?? everyOtherIs.map { CampaignSummary(id: id, status: $0, currency: "USD") }
        }
    }

    /// Nothing is cached here: the campaign as it is now.
    public func pledgeable(id: CampaignID, currency: String) async throws -> CampaignSummary? {
        try await campaign(id: id)
    }

    public func set(_ id: CampaignID, status: String = "active", currency: String = "USD", title: String? = nil) {
        state.withLock { $0.campaigns[id] = CampaignSummary(id: id, status: status, currency: currency, title: title) }
    }

    public func setDown(_ down: Bool) { state.withLock { $0.down = down } }
}
