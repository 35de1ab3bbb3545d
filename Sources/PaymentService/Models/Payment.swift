import Contracts
import Hummingbird

/// A stored payment: one per pledge. Its status uses the pledge's ranked states, and moves only up.
public struct Payment: Sendable, Equatable {
    public var id: PaymentID
    public var pledgeId: PledgeID
    public var campaignId: CampaignID
    public var userId: UserID?
    /// For a guest's payment, the hash of the receipt token pledge-service accepted.
    public var receiptTokenHash: String?
    public var amount: Money
    public var status: PledgeStatus
    public var provider: String
    public var providerPaymentId: String?
    public var paymentMethod: String
    /// The provider idempotency key: `sha256(user_id | pledge_id | campaign_id | amount | currency)`.
    public var chargeKey: String
    public var clientSecret: String?
    public var failureReason: String?
    public var createdAt: String
    public var updatedAt: String
    /// The provider's cumulative refunded amount, as last recorded: it only grows.
    public var refundedAmount: Money
    /// The W3C `traceparent` of the request that created it; webhooks, which carry none, continue it.
    public var traceParent: String? = nil

    public var currency: Currency { amount.currency }

    /// What may still be refunded.
    public var refundable: Money { amount - refundedAmount }
}

/// A payment as clients see it.
public struct PaymentResponse: ResponseEncodable, Decodable, Sendable, Equatable {
    public let id: PaymentID
    public let pledgeId: PledgeID
    public let campaignId: CampaignID
    public let amount: Int64
    public let currency: String
    public let status: String
    public let provider: String
    public let providerPaymentId: String?
    public let clientSecret: String?
    public let failureReason: String?
    public let createdAt: String
    public let updatedAt: String
    public let refundedAmount: Int64
    /// The payment's refunds, oldest first: on a single payment's read, not in lists.
    public let refunds: [RefundResponse]?

    /// `forAdmin`: the refunds carry the admin's `reason`, an internal note; anyone else reads null.
    public init(_ payment: Payment, refunds: [Refund]? = nil, forAdmin: Bool = false) {
        self.id = payment.id
        self.pledgeId = payment.pledgeId
        self.campaignId = payment.campaignId
        self.amount = payment.amount.minorUnits
        self.currency = payment.currency.rawValue
        self.status = payment.status.rawValue
        self.provider = payment.provider
        self.providerPaymentId = payment.providerPaymentId
        self.clientSecret = payment.clientSecret
        self.failureReason = payment.failureReason
        self.createdAt = payment.createdAt
        self.updatedAt = payment.updatedAt
        self.refundedAmount = payment.refundedAmount.minorUnits
        self.refunds = refunds?.map { RefundResponse($0, forAdmin: forAdmin) }
    }
}
