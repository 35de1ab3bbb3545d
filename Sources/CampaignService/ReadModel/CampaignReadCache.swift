import Contracts
import Foundation
import Synchronization

/// The campaigns `GET /campaigns/{id}` serves, kept in memory between changes: a read is
/// answered from here while no commit in this process changed the campaign since it was read
/// (`CampaignChanges.generation`) and it is younger than `maximumAge`, which bounds how late a
/// change made by another replica shows. Unknown ids are never kept, and the cache holds at most
/// `capacity` campaigns (it starts over when full).
public final class CampaignReadCache: Sendable {
    struct Entry {
        let campaign: Campaign
        let generation: UInt64
        let readAt: ContinuousClock.Instant
    }

    let changes: CampaignChanges
    let maximumAge: Duration
    let capacity: Int
    /// Where ages are measured from (a test passes its own clock's).
    let now: @Sendable () -> ContinuousClock.Instant
    private let entries = Mutex<[CampaignID: Entry]>([:])

    public init(
        changes: CampaignChanges, maximumAge: Duration = .seconds(1), capacity: Int = 10_000,
        now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }
    ) {
        self.changes = changes
        self.maximumAge = maximumAge
        self.capacity = capacity
        self.now = now
    }

    /// The campaign from memory when current, else from `read` (and kept).
    func campaign(id: CampaignID, read: () async throws -> Campaign?) async throws -> Campaign? {
        // The generation before the read: a change committed while reading makes the entry stale at once.
        let generation = changes.generation(of: id)
        let now = self.now()
        if let entry = entries.withLock({ $0[id] }), entry.generation == generation, now - entry.readAt < maximumAge {
            return entry.campaign
        }
        guard let campaign = try await read() else { return nil }
        entries.withLock { entries in
            if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
            entries[id] = Entry(campaign: campaign, generation: generation, readAt: now)
        }
        return campaign
    }
}
