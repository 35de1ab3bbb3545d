import Foundation

/// The event types notification-service consumes.
public enum NotificationEventType: String, Codable, Sendable, CaseIterable {
    case donationNotice = "DONATION_NOTICE"
    case campaignGoalReached = "CAMPAIGN_GOAL_REACHED"
}

/// The same envelope as `EventEnvelope` (`{event_id, type, source, occurred_at, trace_parent?,
/// data}`), for the events meant for notification-service; campaign-service never sees these.
public struct NotificationEnvelope: Codable, Sendable, Equatable {
    public var eventId: String
    public var type: NotificationEventType
    public var source: String
    public var occurredAt: String
    public var traceParent: String?
    public var data: NotificationData

    public init(eventId: String, source: String, occurredAt: String, traceParent: String? = nil, data: NotificationData) {
        self.eventId = eventId
        self.type = data.type
        self.source = source
        self.occurredAt = occurredAt
        self.traceParent = traceParent
        self.data = data
    }

    enum CodingKeys: String, CodingKey {
        case eventId = "event_id", type, source, occurredAt = "occurred_at", traceParent = "trace_parent", data
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        eventId = try container.decode(String.self, forKey: .eventId)
        type = try container.decode(NotificationEventType.self, forKey: .type)
        source = try container.decode(String.self, forKey: .source)
        occurredAt = try container.decode(String.self, forKey: .occurredAt)
        traceParent = try container.decodeIfPresent(String.self, forKey: .traceParent)
        let nested = try container.superDecoder(forKey: .data)
        switch type {
        case .donationNotice: data = .donationNotice(try DonationNotice(from: nested))
        case .campaignGoalReached: data = .campaignGoalReached(try CampaignGoalReached(from: nested))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(eventId, forKey: .eventId)
        try container.encode(type, forKey: .type)
        try container.encode(source, forKey: .source)
        try container.encode(occurredAt, forKey: .occurredAt)
        try container.encodeIfPresent(traceParent, forKey: .traceParent)
        let nested = container.superEncoder(forKey: .data)
        switch data {
        case .donationNotice(let value): try value.encode(to: nested)
        case .campaignGoalReached(let value): try value.encode(to: nested)
        }
    }
}

public enum NotificationData: Sendable, Equatable {
    case donationNotice(DonationNotice)
    case campaignGoalReached(CampaignGoalReached)

    public var type: NotificationEventType {
        switch self {
        case .donationNotice: .donationNotice
        case .campaignGoalReached: .campaignGoalReached
        }
    }
}

/// `DONATION_NOTICE`: pledge-service tells notification-service what a donor should hear of.
public struct DonationNotice: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable, CaseIterable {
        /// The pledge was captured: the donation receipt.
        case receipt
        case paymentFailed = "payment_failed"
        /// Part or all of the donation was given back.
        case refunded
    }

    public var pledgeId: String
    public var campaignId: String
    public var kind: Kind
    public var donorEmail: String
    public var donorName: String
    public var amount: Int64
    public var refundedAmount: Int64
    public var currency: Currency
    public var receiptNumber: String?
    /// The page that shows the receipt; a guest's carries their receipt token after the `#`.
    public var receiptUrl: String?
    public var campaignTitle: String?

    public init(
        pledgeId: String, campaignId: String, kind: Kind, donorEmail: String, donorName: String, amount: Int64, refundedAmount: Int64,
        currency: Currency, receiptNumber: String? = nil, receiptUrl: String? = nil, campaignTitle: String? = nil
    ) {
        self.pledgeId = pledgeId
        self.campaignId = campaignId
        self.kind = kind
        self.donorEmail = donorEmail
        self.donorName = donorName
        self.amount = amount
        self.refundedAmount = refundedAmount
        self.currency = currency
        self.receiptNumber = receiptNumber
        self.receiptUrl = receiptUrl
        self.campaignTitle = campaignTitle
    }

    enum CodingKeys: String, CodingKey {
        case pledgeId = "pledge_id", campaignId = "campaign_id", kind, donorEmail = "donor_email", donorName = "donor_name", amount
        case refundedAmount = "refunded_amount", currency, receiptNumber = "receipt_number", receiptUrl = "receipt_url"
        case campaignTitle = "campaign_title"
    }
}

/// `CAMPAIGN_GOAL_REACHED`: campaign-service, once per campaign, when its captured total first
/// reaches its goal.
public struct CampaignGoalReached: Codable, Sendable, Equatable {
    public var campaignId: String
    public var title: String
    public var goalAmount: Int64
    public var capturedAmount: Int64
    public var currency: Currency

    public init(campaignId: String, title: String, goalAmount: Int64, capturedAmount: Int64, currency: Currency) {
        self.campaignId = campaignId
        self.title = title
        self.goalAmount = goalAmount
        self.capturedAmount = capturedAmount
        self.currency = currency
    }

    enum CodingKeys: String, CodingKey {
        case campaignId = "campaign_id", title, goalAmount = "goal_amount", capturedAmount = "captured_amount", currency
    }
}
