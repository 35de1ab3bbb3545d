/// Where a publisher's outbox row goes: a receiving route, named once for both sides. The raw
/// value is what the `outbox.destination` column holds (kept as it always was, so rows written
/// before are still delivered).
public struct OutboxDestination: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String

    public init(rawValue: String) {
        self.rawValue = rawValue
    }

    /// campaign-service's `POST /campaigns/events` (`EVENT_DISPATCH_URL`): pledge and payment events.
    public static let campaignEvents = OutboxDestination(rawValue: "campaign-events")
    /// notification-service's `POST /notifications/events`: donation notices, goals, drift.
    public static let notificationEvents = OutboxDestination(rawValue: "notification-events")
    /// pledge-service's `POST /pledges/webhooks/payment`: payment-service's status notices.
    public static let pledgeNotices = OutboxDestination(rawValue: "pledge-webhook")

    /// The route, under the receiving service's base URL.
    public var path: String {
        switch self {
        case .campaignEvents: "/campaigns/events"
        case .notificationEvents: "/notifications/events"
        case .pledgeNotices: "/pledges/webhooks/payment"
        default: "/" + rawValue
        }
    }

    /// The key a batch of this destination's items goes under (`{"<key>": [...]}`).
    public var batchKey: String {
        self == .pledgeNotices ? PaymentStatusNotice.batchKey : "events"
    }

    public var description: String { rawValue }
}
