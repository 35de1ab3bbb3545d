import Contracts
import Foundation
import Outbox
import Synchronization

/// Tells this process that a campaign may have moved: the ingestor calls `changed` after each
/// commit that applied an event (admins' edits too), every stream of that campaign wakes at once,
/// and the campaign's generation rises, so what the read cache holds of it is stale from then on.
/// In-process only: streams and the cache also re-read after a short while, for what other
/// replicas wrote.
public final class CampaignChanges: Sendable {
    private let subscribers = Mutex<[UUID: (campaignId: CampaignID, signal: QueueSignal)]>([:])
    private let generations = Mutex<[CampaignID: UInt64]>([:])

    public init() {}

    /// How many times `campaignId` changed in this process: a read made at one generation is
    /// current until the next.
    public func generation(of campaignId: CampaignID) -> UInt64 {
        generations.withLock { $0[campaignId, default: 0] }
    }

    public func changed(campaignId: CampaignID) {
        generations.withLock { $0[campaignId, default: 0] &+= 1 }
        let signals = subscribers.withLock { $0.values.filter { $0.campaignId == campaignId }.map(\.signal) }
        for signal in signals { signal.notify() }
    }

    /// A signal woken by changes to `campaignId`, until `unsubscribe` is called with the id returned.
    func subscribe(campaignId: CampaignID) -> (UUID, QueueSignal) {
        let id = UUID()
        let signal = QueueSignal()
        subscribers.withLock { $0[id] = (campaignId, signal) }
        return (id, signal)
    }

    func unsubscribe(_ id: UUID) {
        _ = subscribers.withLock { $0.removeValue(forKey: id) }
    }
}
