import Contracts
import Foundation
import Persistence

extension Envelope {
    /// What makes an envelope unusable whatever it carries: an `event_id` that is not a UUID, a
    /// `source` of the wrong length, an `occurred_at` that is not an RFC 3339 time. nil when it is fine.
    public var headerProblem: String? {
        guard UUID(uuidString: eventId) != nil else { return "event_id must be a UUID" }
        guard !source.isEmpty, source.count <= 100 else { return "source must be 1 to 100 characters" }
        guard Timestamp.normalize(occurredAt) != nil else { return "occurred_at must be an RFC 3339 time" }
        return nil
    }
}
