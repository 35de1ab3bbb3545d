import Contracts
import Hummingbird

/// A stored pledge. The receipt token itself is never stored, only its hash.
public struct Pledge: Sendable, Equatable {
    public var id: PledgeID
    public var campaignId: CampaignID
    public var userId: UserID?
    public var guestEmail: String?
    public var donorName: String
    public var amount: Money
    public var status: PledgeStatus
    public var anonymous: Bool
    public var message: String?
    public var receiptTokenHash: String?
    public var createdAt: String
    public var updatedAt: String
    /// The largest cumulative refund reported for its payment.
    public var refundedAmount: Money
    /// A signed-in donor's email when they pledged (a guest's is `guestEmail`): where their mail goes.
    public var accountEmail: String? = nil

    public var currency: Currency { amount.currency }
}

/// A captured pledge's receipt. Its number is made from the sequence the database gave it when
/// the pledge was first captured, so it never changes and no two receipts share one.
public struct Receipt: Sendable, Equatable {
    public let pledgeId: PledgeID
    public let sequence: Int64
    public let year: Int
    public let capturedAt: String
    public let issuedAt: String

    /// `CFA-2026-000042`: the year it was issued and at least six digits of its sequence.
    public var number: String {
        let digits = String(sequence)
        return "CFA-\(year)-" + String(repeating: "0", count: max(0, 6 - digits.count)) + digits
    }
}

public struct TransitionResponse: Codable, Sendable, Equatable {
    public let from: String?
    public let to: String
    public let at: String
}

/// A pledge as clients see it. `receipt_token` only in the answer that created a guest pledge;
/// `transitions` only when one pledge is read.
public struct PledgeResponse: ResponseEncodable, Decodable, Sendable, Equatable {
    public let id: PledgeID
    public let campaignId: CampaignID
    public let userId: UserID?
    public let amount: Int64
    public let currency: String
    public let status: String
    public let anonymous: Bool
    public let message: String?
    public let donorName: String
    public let createdAt: String
    public let updatedAt: String
    public var receiptToken: String?
    public var transitions: [TransitionResponse]?
    /// Read answers only (not the one that created the pledge): the receipt's number, null until
    /// the pledge is captured, and what has been refunded.
    public var receiptNumber: String?
    public var refundedAmount: Int64?
    var isRead = false

    enum CodingKeys: String, CodingKey {
        case id, campaignId, userId, amount, currency, status, anonymous, message, donorName, createdAt, updatedAt, receiptToken,
            transitions, receiptNumber, refundedAmount
    }

    /// A pledge as read later: with its receipt number (or null) and refunded amount.
    public static func read(_ pledge: Pledge, receipt: Receipt?, transitions: [TransitionResponse]? = nil) -> PledgeResponse {
        var response = PledgeResponse(pledge, transitions: transitions)
        response.isRead = true
        response.receiptNumber = receipt?.number
        response.refundedAmount = pledge.refundedAmount.minorUnits
        return response
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode(campaignId, forKey: .campaignId)
        try container.encode(userId, forKey: .userId)
        try container.encode(amount, forKey: .amount)
        try container.encode(currency, forKey: .currency)
        try container.encode(status, forKey: .status)
        try container.encode(anonymous, forKey: .anonymous)
        try container.encode(message, forKey: .message)
        try container.encode(donorName, forKey: .donorName)
        try container.encode(createdAt, forKey: .createdAt)
        try container.encode(updatedAt, forKey: .updatedAt)
        try container.encodeIfPresent(receiptToken, forKey: .receiptToken)
        try container.encodeIfPresent(transitions, forKey: .transitions)
        if isRead {
            try container.encode(receiptNumber, forKey: .receiptNumber)
            try container.encode(refundedAmount ?? 0, forKey: .refundedAmount)
        }
    }

    public init(_ pledge: Pledge, receiptToken: String? = nil, transitions: [TransitionResponse]? = nil) {
        self.id = pledge.id
        self.campaignId = pledge.campaignId
        self.userId = pledge.userId
        self.amount = pledge.amount.minorUnits
        self.currency = pledge.currency.rawValue
        self.status = pledge.status.rawValue
        self.anonymous = pledge.anonymous
        self.message = pledge.message
        self.donorName = pledge.donorName
        self.createdAt = pledge.createdAt
        self.updatedAt = pledge.updatedAt
        self.receiptToken = receiptToken
        self.transitions = transitions
    }
}
