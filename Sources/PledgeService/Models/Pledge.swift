import Events
import Hummingbird

/// A stored pledge. The receipt token itself is never stored, only its hash.
public struct Pledge: Sendable, Equatable {
    public var id: String
    public var campaignId: String
    public var userId: String?
    public var guestEmail: String?
    public var donorName: String
    public var amount: Int64
    public var currency: Currency
    public var status: PledgeStatus
    public var anonymous: Bool
    public var message: String?
    public var receiptTokenHash: String?
    public var createdAt: String
    public var updatedAt: String
}

public struct TransitionResponse: Codable, Sendable, Equatable {
    public let from: String?
    public let to: String
    public let at: String
}

/// A pledge as clients see it. `receipt_token` only in the answer that created a guest pledge;
/// `transitions` only when one pledge is read.
public struct PledgeResponse: ResponseEncodable, Decodable, Sendable, Equatable {
    public let id: String
    public let campaignId: String
    public let userId: String?
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

    public init(_ pledge: Pledge, receiptToken: String? = nil, transitions: [TransitionResponse]? = nil) {
        self.id = pledge.id
        self.campaignId = pledge.campaignId
        self.userId = pledge.userId
        self.amount = pledge.amount
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
