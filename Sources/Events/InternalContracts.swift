/// The bodies of the signed calls between services that are not events.

/// `POST /pledges/internal/lookup` (pledge-service, signed): payment-service asks what it may
/// charge for a pledge, and whether the guest's receipt token (if any) is the pledge's.
public struct PledgeLookupRequest: Codable, Sendable, Equatable {
    public var pledgeId: String
    public var receiptToken: String?

    public init(pledgeId: String, receiptToken: String?) {
        self.pledgeId = pledgeId
        self.receiptToken = receiptToken
    }

    enum CodingKeys: String, CodingKey {
        case pledgeId = "pledge_id", receiptToken = "receipt_token"
    }
}

/// The answer: the pledge's own amount, currency, campaign and owner, never the client's.
public struct PledgeLookupResponse: Codable, Sendable, Equatable {
    public var id: String
    public var campaignId: String
    public var userId: String?
    public var amount: Int64
    public var currency: Currency
    public var status: PledgeStatus
    /// True only when a receipt token was sent and it is this pledge's.
    public var receiptTokenValid: Bool

    public init(id: String, campaignId: String, userId: String?, amount: Int64, currency: Currency, status: PledgeStatus, receiptTokenValid: Bool) {
        self.id = id
        self.campaignId = campaignId
        self.userId = userId
        self.amount = amount
        self.currency = currency
        self.status = status
        self.receiptTokenValid = receiptTokenValid
    }

    enum CodingKeys: String, CodingKey {
        case id, campaignId = "campaign_id", userId = "user_id", amount, currency, status, receiptTokenValid = "receipt_token_valid"
    }
}

/// `POST /pledges/webhooks/payment` (pledge-service, signed): payment-service reports a payment's
/// status. Sent through payment-service's outbox, in batches (`{notices: [...]}`).
public struct PaymentStatusNotice: Codable, Sendable, Equatable {
    public var eventId: String
    public var pledgeId: String
    public var paymentId: String
    public var status: PledgeStatus
    public var occurredAt: String
    public var reason: String?
    /// The trace of the change it reports: each notice carries its own, so a batch never lends one
    /// notice's trace to another.
    public var traceParent: String?
    /// The payment's cumulative refunded amount, on a notice about a refund.
    public var refundedAmount: Int64?

    public init(
        eventId: String, pledgeId: String, paymentId: String, status: PledgeStatus, occurredAt: String, reason: String?, traceParent: String? = nil,
        refundedAmount: Int64? = nil
    ) {
        self.eventId = eventId
        self.pledgeId = pledgeId
        self.paymentId = paymentId
        self.status = status
        self.occurredAt = occurredAt
        self.reason = reason
        self.traceParent = traceParent
        self.refundedAmount = refundedAmount
    }

    enum CodingKeys: String, CodingKey {
        case eventId = "event_id", pledgeId = "pledge_id", paymentId = "payment_id", status, occurredAt = "occurred_at", reason
        case traceParent = "trace_parent", refundedAmount = "refunded_amount"
    }
}

/// What one service knows of a campaign's money, for reconciliation (`GET
/// /pledges/internal/summary`, `GET /payments/internal/summary`): counts and sums by status and
/// the refunded sum, and, when asked, one page of its pledges.
public struct CampaignLedger: Codable, Sendable, Equatable {
    public var campaignId: String
    /// By status (`PENDING`, ..., `REFUNDED`): how many, and their amounts.
    public var counts: [String: Int64]
    public var amounts: [String: Int64]
    public var refundedAmount: Int64
    /// One page of per-pledge entries (pledge id order), when asked for.
    public var entries: [LedgerEntry]?
    /// The last pledge id of the page when there are more.
    public var nextAfter: String?

    public init(campaignId: String, counts: [String: Int64], amounts: [String: Int64], refundedAmount: Int64, entries: [LedgerEntry]? = nil, nextAfter: String? = nil) {
        self.campaignId = campaignId
        self.counts = counts
        self.amounts = amounts
        self.refundedAmount = refundedAmount
        self.entries = entries
        self.nextAfter = nextAfter
    }

    enum CodingKeys: String, CodingKey {
        case campaignId = "campaign_id", counts, amounts, refundedAmount = "refunded_amount", entries, nextAfter = "next_after"
    }
}

/// One pledge as a service records it (payment-service: the pledge's payment).
public struct LedgerEntry: Codable, Sendable, Equatable {
    public var pledgeId: String
    public var status: PledgeStatus
    public var amount: Int64
    public var refundedAmount: Int64

    public init(pledgeId: String, status: PledgeStatus, amount: Int64, refundedAmount: Int64) {
        self.pledgeId = pledgeId
        self.status = status
        self.amount = amount
        self.refundedAmount = refundedAmount
    }

    enum CodingKeys: String, CodingKey {
        case pledgeId = "pledge_id", status, amount, refundedAmount = "refunded_amount"
    }
}

/// `POST /<segment>/internal/resend`: send the events about these pledges again (consumers
/// deduplicate them), answered with how many outbox rows were put back.
public struct ResendRequest: Codable, Sendable, Equatable {
    public var pledgeIds: [String]

    public init(pledgeIds: [String]) {
        self.pledgeIds = pledgeIds
    }

    enum CodingKeys: String, CodingKey {
        case pledgeIds = "pledge_ids"
    }
}
