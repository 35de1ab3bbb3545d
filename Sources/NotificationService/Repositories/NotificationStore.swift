import Foundation
import HTTPSupport

/// One event as ingestion hands it to the store: its id and type, and the mail it calls for
/// (nil when it calls for none, with why).
public struct IncomingEvent: Sendable {
    public let eventId: String
    public let type: String
    public let mail: ComposedMail?
    public let skipped: String?
    /// The trace context its mail is sent under.
    public var traceParent: String? = nil
}

/// What became of one event: `applied` (its mail is queued), `duplicate` (seen before),
/// `ignored` (nothing to send, with why) or `rejected` (unreadable, with why).
public struct EventOutcome: Codable, Sendable, Equatable {
    public let eventId: String
    public let result: String
    public let reason: String?

    public init(eventId: String, result: String, reason: String? = nil) {
        self.eventId = eventId
        self.result = result
        self.reason = reason
    }

    enum CodingKeys: String, CodingKey {
        case eventId = "event_id", result, reason
    }
}

/// Persistence of notification-service: events seen, and the mail queue.
public protocol NotificationStore: Sendable {
    /// Records the events and queues their mails in one transaction: an event seen before is a
    /// duplicate, and a mail is written at most once per (event, kind).
    func accept(_ events: [IncomingEvent], messageDomain: String, at time: String) async throws -> [EventOutcome]
    /// Claims up to `limit` queued mails that are due, each for `lease` (another sender skips
    /// them meanwhile), counting the attempt.
    func claimDue(limit: Int, now: Date, lease: TimeInterval) async throws -> [Mail]
    /// Marks mails SENT, each with where it went, in one statement.
    func markSent(_ deliveries: [(id: String, delivery: String)], at time: String) async throws
    /// A temporary failure: queued again for `nextAttempt`, with the error.
    func markRetry(id: String, error: String, nextAttempt: String) async throws
    /// A permanent refusal: FAILED, kept with the error.
    func markFailed(id: String, error: String) async throws
    /// Puts a FAILED or waiting mail back in the queue, due now; nil for an unknown or sent mail.
    func requeue(id: String, at time: String) async throws -> Mail?
    func find(id: String) async throws -> Mail?
    /// Newest first, `limit + 1` rows after `cursor`.
    func list(kind: MailKind?, status: MailStatus?, limit: Int, after cursor: PageCursor?) async throws -> [Mail]
    /// Queued mails and the age of the oldest, for metrics.
    func queueState(now: Date) async throws -> (queued: Int, failed: Int, oldestSeconds: Double)
}
