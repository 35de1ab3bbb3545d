import Contracts
import Foundation
import HTTPSupport
import Persistence

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

/// Persistence of notification-service: events seen, and the mail queue.
public protocol NotificationStore: Sendable {
    /// Records the events and queues their mails in one transaction: an event seen before is a
    /// duplicate, and a mail is written at most once per (event, kind). `applied`: its mail is
    /// queued; `ignored`: nothing to send (with why).
    func accept(_ events: [IncomingEvent], messageDomain: String, at time: String) async throws -> [IngestOutcome]
    /// Puts a FAILED or waiting mail back in the queue, due now; nil for an unknown or sent mail.
    func requeue(id: String, at time: String) async throws -> Mail?
    func find(id: String) async throws -> Mail?
    /// Newest first, `limit + 1` rows after `cursor`.
    func list(kind: MailKind?, status: MailStatus?, limit: Int, after cursor: PageCursor?) async throws -> [Mail]
    /// Queued mails and the age of the oldest, for metrics.
    func queueState(now: Date) async throws -> (queued: Int, failed: Int, oldestSeconds: Double)
}
