import Foundation

/// The event types of DESIGN.md's contract table.
public enum EventType: String, Codable, Sendable, CaseIterable {
    case pledgeCreated = "PLEDGE_CREATED"
    case pledgeStatusChanged = "PLEDGE_STATUS_CHANGED"
    case paymentCaptured = "PAYMENT_CAPTURED"
    case paymentFailed = "PAYMENT_FAILED"
    case paymentRefunded = "PAYMENT_REFUNDED"
}

/// The pledge and payment events campaign-service ingests.
public typealias EventEnvelope = Envelope<EventData>

public enum EventData: EnvelopeBody {
    case pledgeCreated(PledgeCreated)
    case pledgeStatusChanged(PledgeStatusChanged)
    case paymentCaptured(PaymentCaptured)
    case paymentFailed(PaymentFailed)
    case paymentRefunded(PaymentRefunded)

    /// Every pledge and payment event is about one pledge.
    public var aggregateId: String { pledgeFact.pledgeId.rawValue }

    public var type: EventType {
        switch self {
        case .pledgeCreated: .pledgeCreated
        case .pledgeStatusChanged: .pledgeStatusChanged
        case .paymentCaptured: .paymentCaptured
        case .paymentFailed: .paymentFailed
        case .paymentRefunded: .paymentRefunded
        }
    }

    public init(type: EventType, from decoder: any Decoder) throws {
        switch type {
        case .pledgeCreated: self = .pledgeCreated(try PledgeCreated(from: decoder))
        case .pledgeStatusChanged: self = .pledgeStatusChanged(try PledgeStatusChanged(from: decoder))
        case .paymentCaptured: self = .paymentCaptured(try PaymentCaptured(from: decoder))
        case .paymentFailed: self = .paymentFailed(try PaymentFailed(from: decoder))
        case .paymentRefunded: self = .paymentRefunded(try PaymentRefunded(from: decoder))
        }
    }

    public func encode(to encoder: any Encoder) throws {
        switch self {
        case .pledgeCreated(let value): try value.encode(to: encoder)
        case .pledgeStatusChanged(let value): try value.encode(to: encoder)
        case .paymentCaptured(let value): try value.encode(to: encoder)
        case .paymentFailed(let value): try value.encode(to: encoder)
        case .paymentRefunded(let value): try value.encode(to: encoder)
        }
    }
}

public struct PledgeCreated: Codable, Sendable, Equatable {
    public var pledgeId: PledgeID
    public var campaignId: CampaignID
    public var userId: UserID?
    public var amount: Int64
    public var currency: Currency
    public var status: PledgeStatus
    public var anonymous: Bool
    public var donorName: String?
    public var message: String?

    public init(
        pledgeId: PledgeID, campaignId: CampaignID, userId: UserID?, amount: Int64, currency: Currency,
        status: PledgeStatus = .pending, anonymous: Bool, donorName: String?, message: String?
    ) {
        self.pledgeId = pledgeId
        self.campaignId = campaignId
        self.userId = userId
        self.amount = amount
        self.currency = currency
        self.status = status
        self.anonymous = anonymous
        self.donorName = donorName
        self.message = message
    }

    enum CodingKeys: String, CodingKey {
        case pledgeId = "pledge_id", campaignId = "campaign_id", userId = "user_id", amount, currency, status, anonymous
        case donorName = "donor_name", message
    }
}

public struct PledgeStatusChanged: Codable, Sendable, Equatable {
    public var pledgeId: PledgeID
    public var campaignId: CampaignID
    public var previousStatus: PledgeStatus
    public var newStatus: PledgeStatus
    public var amount: Int64
    public var currency: Currency

    public init(pledgeId: PledgeID, campaignId: CampaignID, previousStatus: PledgeStatus, newStatus: PledgeStatus, amount: Int64, currency: Currency) {
        self.pledgeId = pledgeId
        self.campaignId = campaignId
        self.previousStatus = previousStatus
        self.newStatus = newStatus
        self.amount = amount
        self.currency = currency
    }

    enum CodingKeys: String, CodingKey {
        case pledgeId = "pledge_id", campaignId = "campaign_id", previousStatus = "previous_status", newStatus = "new_status"
        case amount, currency
    }
}

public struct PaymentCaptured: Codable, Sendable, Equatable {
    public var paymentId: PaymentID
    public var pledgeId: PledgeID
    public var campaignId: CampaignID
    public var amount: Int64
    public var currency: Currency

    public init(paymentId: PaymentID, pledgeId: PledgeID, campaignId: CampaignID, amount: Int64, currency: Currency) {
        self.paymentId = paymentId
        self.pledgeId = pledgeId
        self.campaignId = campaignId
        self.amount = amount
        self.currency = currency
    }

    enum CodingKeys: String, CodingKey {
        case paymentId = "payment_id", pledgeId = "pledge_id", campaignId = "campaign_id", amount, currency
    }
}

public struct PaymentFailed: Codable, Sendable, Equatable {
    public var paymentId: PaymentID
    public var pledgeId: PledgeID
    public var campaignId: CampaignID
    public var amount: Int64
    public var currency: Currency
    public var error: String?

    public init(paymentId: PaymentID, pledgeId: PledgeID, campaignId: CampaignID, amount: Int64, currency: Currency, error: String?) {
        self.paymentId = paymentId
        self.pledgeId = pledgeId
        self.campaignId = campaignId
        self.amount = amount
        self.currency = currency
        self.error = error
    }

    enum CodingKeys: String, CodingKey {
        case paymentId = "payment_id", pledgeId = "pledge_id", campaignId = "campaign_id", amount, currency, error
    }
}

/// Money given back on a captured payment. `refunded_amount` is cumulative (the provider's
/// `amount_refunded`), so news of it only ever grows and can be merged by taking the largest.
public struct PaymentRefunded: Codable, Sendable, Equatable {
    public var paymentId: PaymentID
    public var pledgeId: PledgeID
    public var campaignId: CampaignID
    /// The pledge's amount.
    public var amount: Int64
    public var refundedAmount: Int64
    public var currency: Currency
    public var refundId: String

    public init(paymentId: PaymentID, pledgeId: PledgeID, campaignId: CampaignID, amount: Int64, refundedAmount: Int64, currency: Currency, refundId: String) {
        self.paymentId = paymentId
        self.pledgeId = pledgeId
        self.campaignId = campaignId
        self.amount = amount
        self.refundedAmount = refundedAmount
        self.currency = currency
        self.refundId = refundId
    }

    enum CodingKeys: String, CodingKey {
        case paymentId = "payment_id", pledgeId = "pledge_id", campaignId = "campaign_id", amount, refundedAmount = "refunded_amount"
        case currency, refundId = "refund_id"
    }
}

extension EventData {
    /// What every event says about one pledge: which, of which campaign, how much, and the
    /// status it implies (`PAYMENT_CAPTURED` implies CAPTURED, `PAYMENT_FAILED` FAILED).
    public var pledgeFact: PledgeFact {
        switch self {
        case .pledgeCreated(let e):
            PledgeFact(pledgeId: e.pledgeId, campaignId: e.campaignId, amount: e.amount, currency: e.currency, status: e.status, paymentId: nil)
        case .pledgeStatusChanged(let e):
            PledgeFact(pledgeId: e.pledgeId, campaignId: e.campaignId, amount: e.amount, currency: e.currency, status: e.newStatus, paymentId: nil)
        case .paymentCaptured(let e):
            PledgeFact(pledgeId: e.pledgeId, campaignId: e.campaignId, amount: e.amount, currency: e.currency, status: .captured, paymentId: e.paymentId)
        case .paymentFailed(let e):
            PledgeFact(pledgeId: e.pledgeId, campaignId: e.campaignId, amount: e.amount, currency: e.currency, status: .failed, paymentId: e.paymentId)
        case .paymentRefunded(let e):
            // A refund implies the capture; refunded in full, the pledge is REFUNDED.
            PledgeFact(
                pledgeId: e.pledgeId, campaignId: e.campaignId, amount: e.amount, currency: e.currency,
                status: e.refundedAmount >= e.amount ? .refunded : .captured, paymentId: e.paymentId, refundedAmount: e.refundedAmount
            )
        }
    }
}

public struct PledgeFact: Sendable, Equatable {
    public let pledgeId: PledgeID
    public let campaignId: CampaignID
    public let amount: Int64
    public let currency: Currency
    public let status: PledgeStatus
    public let paymentId: PaymentID?
    /// How much of the pledge has been given back (cumulative); 0 but for PAYMENT_REFUNDED.
    public var refundedAmount: Int64 = 0
}
