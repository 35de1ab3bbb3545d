import Contracts
import Hummingbird
import SMTP

/// What a mail is about: the donor's receipt, their failed payment, their refund, or (to the
/// admins) a campaign that reached its goal, or drift a reconciliation found.
public enum MailKind: String, Sendable, Codable, CaseIterable {
    case receipt
    case paymentFailed = "payment_failed"
    case refunded
    case goalReached = "goal_reached"
    case reconciliationDrift = "reconciliation_drift"

    init(_ kind: DonationNotice.Kind) {
        switch kind {
        case .receipt: self = .receipt
        case .paymentFailed: self = .paymentFailed
        case .refunded: self = .refunded
        }
    }
}

/// QUEUED until the server accepts it (retried with backoff, forever, while the server is away);
/// SENT once it did; FAILED when the server refused it for good (a 5xx), kept with the reason
/// until an admin sends it again.
public enum MailStatus: String, Sendable, Codable, CaseIterable {
    case queued = "QUEUED"
    case sent = "SENT"
    case failed = "FAILED"
}

/// A mail as written: at most one per (event, kind).
public struct Mail: Sendable, Equatable {
    public var id: String
    public var eventId: String
    public var kind: MailKind
    /// The pledge or campaign it is about.
    public var subjectId: String
    public var recipients: [MailAddress]
    public var subject: String
    public var text: String
    public var html: String
    public var messageId: String
    public var status: MailStatus
    public var attempts: Int
    public var lastError: String?
    public var nextAttemptAt: String
    /// Where it went: `smtp://host:port`, or the `.eml` file's name in dev mode.
    public var delivery: String?
    public var sentAt: String?
    public var createdAt: String
    /// The `traceparent` of the event's handling: sending the mail is part of that trace.
    public var traceParent: String? = nil
}

/// A mail in the admin's list; with `body`, the text and HTML too.
public struct MailResponse: ResponseEncodable, Sendable, Equatable, Decodable {
    public let id: String
    public let eventId: String
    public let kind: String
    public let subjectId: String
    public let recipients: [String]
    public let subject: String
    public let messageId: String
    public let status: String
    public let attempts: Int
    public let lastError: String?
    public let nextAttemptAt: String?
    public let delivery: String?
    public let sentAt: String?
    public let createdAt: String
    public let text: String?
    public let html: String?

    public init(_ mail: Mail, body: Bool = false) {
        id = mail.id
        eventId = mail.eventId
        kind = mail.kind.rawValue
        subjectId = mail.subjectId
        recipients = mail.recipients.map(\.address)
        subject = mail.subject
        messageId = mail.messageId
        status = mail.status.rawValue
        attempts = mail.attempts
        lastError = mail.lastError
        nextAttemptAt = mail.status == .queued ? mail.nextAttemptAt : nil
        delivery = mail.delivery
        sentAt = mail.sentAt
        createdAt = mail.createdAt
        text = body ? mail.text : nil
        html = body ? mail.html : nil
    }
}
