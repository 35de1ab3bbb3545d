import Foundation

/// The event types notification-service consumes.
public enum NotificationEventType: String, Codable, Sendable, CaseIterable {
    case donationNotice = "DONATION_NOTICE"
    case campaignGoalReached = "CAMPAIGN_GOAL_REACHED"
    case reconciliationDrift = "RECONCILIATION_DRIFT"
}

/// The events notification-service consumes.
public typealias NotificationEnvelope = Envelope<NotificationData>

public enum NotificationData: EnvelopeBody {
    case donationNotice(DonationNotice)
    case campaignGoalReached(CampaignGoalReached)
    case reconciliationDrift(ReconciliationDrift)

    /// A donation notice is about its pledge, a goal about its campaign, drift about its run.
    public var aggregateId: String {
        switch self {
        case .donationNotice(let notice): notice.pledgeId.rawValue
        case .campaignGoalReached(let goal): goal.campaignId.rawValue
        case .reconciliationDrift(let run): run.runId
        }
    }

    public var type: NotificationEventType {
        switch self {
        case .donationNotice: .donationNotice
        case .campaignGoalReached: .campaignGoalReached
        case .reconciliationDrift: .reconciliationDrift
        }
    }

    public init(type: NotificationEventType, from decoder: any Decoder) throws {
        switch type {
        case .donationNotice: self = .donationNotice(try DonationNotice(from: decoder))
        case .campaignGoalReached: self = .campaignGoalReached(try CampaignGoalReached(from: decoder))
        case .reconciliationDrift: self = .reconciliationDrift(try ReconciliationDrift(from: decoder))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .donationNotice(let value): try value.encode(to: encoder)
        case .campaignGoalReached(let value): try value.encode(to: encoder)
        case .reconciliationDrift(let value): try value.encode(to: encoder)
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

    public var pledgeId: PledgeID
    public var campaignId: CampaignID
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
        pledgeId: PledgeID, campaignId: CampaignID, kind: Kind, donorEmail: String, donorName: String, amount: Int64, refundedAmount: Int64,
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
    public var campaignId: CampaignID
    public var title: String
    public var goalAmount: Int64
    public var capturedAmount: Int64
    public var currency: Currency

    public init(campaignId: CampaignID, title: String, goalAmount: Int64, capturedAmount: Int64, currency: Currency) {
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

/// `RECONCILIATION_DRIFT`: campaign-service, once per reconciliation run that found drift.
public struct ReconciliationDrift: Codable, Sendable, Equatable {
    public struct Entry: Codable, Sendable, Equatable {
        public var campaignId: CampaignID
        public var field: String
        public var expected: Int64
        public var actual: Int64
        public var pledgeIds: [PledgeID]

        public init(campaignId: CampaignID, field: String, expected: Int64, actual: Int64, pledgeIds: [PledgeID]) {
            self.campaignId = campaignId
            self.field = field
            self.expected = expected
            self.actual = actual
            self.pledgeIds = pledgeIds
        }

        enum CodingKeys: String, CodingKey {
            case campaignId = "campaign_id", field, expected, actual, pledgeIds = "pledge_ids"
        }
    }

    public var runId: String
    public var startedAt: String
    public var drift: [Entry]

    public init(runId: String, startedAt: String, drift: [Entry]) {
        self.runId = runId
        self.startedAt = startedAt
        self.drift = drift
    }

    enum CodingKeys: String, CodingKey {
        case runId = "run_id", startedAt = "started_at", drift
    }
}
