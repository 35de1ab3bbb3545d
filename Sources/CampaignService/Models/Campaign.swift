import Contracts
import HTTPSupport
import Hummingbird

public enum CampaignStatus: String, Codable, Sendable, CaseIterable {
    case draft
    case active
    case paused
    case closed
}

/// A campaign with its totals, as stored and as clients see it (`current_amount` is the captured amount).
public struct Campaign: Sendable, Equatable {
    public var id: CampaignID
    public var title: String
    public var description: String
    public var goal: Money
    public var status: CampaignStatus
    public var createdAt: String
    public var updatedAt: String
    public var totals: CampaignTotals
    /// pledge-service has been told this campaign takes pledges in its currency, which is then
    /// fixed (a pledge may be on its way before its event arrives here).
    public var currencyLocked: Bool = false

    /// The campaign's one currency: its goal's, and every pledge's to it.
    public var currency: Currency {
        get { goal.currency }
        set { goal = Money(goal.minorUnits, newValue) }
    }
}

/// The rollup buckets: each pledge's amount sits in exactly one, the one of its status.
public struct CampaignTotals: Sendable, Equatable, Codable {
    public var pendingAmount: Int64 = 0
    public var authorizedAmount: Int64 = 0
    public var capturedAmount: Int64 = 0
    public var failedAmount: Int64 = 0
    /// Given back; no longer in `capturedAmount`.
    public var refundedAmount: Int64 = 0
    public var totalPledges: Int64 = 0
    public var totalPayments: Int64 = 0

    public init() {}

    public init(
        pendingAmount: Int64, authorizedAmount: Int64, capturedAmount: Int64, failedAmount: Int64, totalPledges: Int64, totalPayments: Int64,
        refundedAmount: Int64 = 0
    ) {
        self.pendingAmount = pendingAmount
        self.authorizedAmount = authorizedAmount
        self.capturedAmount = capturedAmount
        self.failedAmount = failedAmount
        self.refundedAmount = refundedAmount
        self.totalPledges = totalPledges
        self.totalPayments = totalPayments
    }
}

public struct CampaignResponse: ResponseEncodable, Decodable, Sendable, Equatable {
    public let id: CampaignID
    public let title: String
    public let description: String
    public let goalAmount: Int64
    public let currency: String
    public let status: CampaignStatus
    public let createdAt: String
    public let updatedAt: String
    public let currentAmount: Int64
    public let pendingAmount: Int64
    public let authorizedAmount: Int64
    public let capturedAmount: Int64
    public let failedAmount: Int64
    public let totalPledges: Int64
    public let totalPayments: Int64
    /// Given back to donors; not counted in `captured_amount` or `current_amount`.
    public let refundedAmount: Int64
    /// The currency's minor-unit digits (2 for USD, 0 for JPY, 3 for KWD): amounts are in
    /// units of 10^-minor_units.
    public let minorUnits: Int

    public init(_ campaign: Campaign) {
        self.id = campaign.id
        self.title = campaign.title
        self.description = campaign.description
        self.goalAmount = campaign.goal.minorUnits
        self.currency = campaign.currency.rawValue
        self.status = campaign.status
        self.createdAt = campaign.createdAt
        self.updatedAt = campaign.updatedAt
        self.currentAmount = campaign.totals.capturedAmount
        self.pendingAmount = campaign.totals.pendingAmount
        self.authorizedAmount = campaign.totals.authorizedAmount
        self.capturedAmount = campaign.totals.capturedAmount
        self.failedAmount = campaign.totals.failedAmount
        self.totalPledges = campaign.totals.totalPledges
        self.totalPayments = campaign.totals.totalPayments
        self.refundedAmount = campaign.totals.refundedAmount
        self.minorUnits = campaign.currency.minorUnitDigits
    }
}

/// One donation in a campaign's public history. Never an email or a user id.
public struct DonationResponse: ResponseEncodable, Decodable, Sendable, Equatable {
    public let pledgeId: PledgeID
    public let status: String
    public let amount: Int64
    /// How much of it was given back.
    public let refundedAmount: Int64
    public let currency: String
    public let donorName: String
    public let message: String?
    /// When the donation was made, and when its status last changed (event times).
    public let createdAt: String
    public let updatedAt: String
}

/// One ingested event, for the admin view.
public struct IngestedEventResponse: ResponseEncodable, Decodable, Sendable, Equatable {
    public let eventId: String
    public let type: String
    public let source: String
    public let pledgeId: PledgeID
    public let occurredAt: String
    public let receivedAt: String
    public let effect: String
}
