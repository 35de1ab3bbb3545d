import Foundation
import Outbox
import Synchronization

/// Tells live streams that a campaign's totals may have moved: the ingestor calls `changed`
/// after each commit that applied an event, and every stream of that campaign wakes at once.
/// In-process only: a stream also re-reads every few seconds, for what other replicas ingested.
public final class CampaignChanges: Sendable {
    private let subscribers = Mutex<[UUID: (campaignId: String, signal: OutboxSignal)]>([:])

    public init() {}

    public func changed(campaignId: String) {
        let signals = subscribers.withLock { $0.values.filter { $0.campaignId == campaignId }.map(\.signal) }
        for signal in signals { signal.notify() }
    }

    /// A signal woken by changes to `campaignId`, until `unsubscribe` is called with the id returned.
    func subscribe(campaignId: String) -> (UUID, OutboxSignal) {
        let id = UUID()
        let signal = OutboxSignal()
        subscribers.withLock { $0[id] = (campaignId, signal) }
        return (id, signal)
    }

    func unsubscribe(_ id: UUID) {
        _ = subscribers.withLock { $0.removeValue(forKey: id) }
    }
}
