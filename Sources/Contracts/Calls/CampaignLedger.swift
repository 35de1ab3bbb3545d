/// What one service knows of a campaign's money, for reconciliation (`GET
/// /pledges/internal/summary`, `GET /payments/internal/summary`): counts and sums by status and
/// the refunded sum, and, when asked, one page of its pledges.
public struct CampaignLedger: Codable, Sendable, Equatable {
    public var campaignId: CampaignID
    /// By status (`PENDING`, ..., `REFUNDED`): how many, and their amounts.
    public var counts: [String: Int64]
    public var amounts: [String: Int64]
    public var refundedAmount: Int64
    /// One page of per-pledge entries (pledge id order), when asked for.
    public var entries: [LedgerEntry]?
    /// The last pledge id of the page when there are more.
    public var nextAfter: PledgeID?

    public init(campaignId: CampaignID, counts: [String: Int64], amounts: [String: Int64], refundedAmount: Int64, entries: [LedgerEntry]? = nil, nextAfter: PledgeID? = nil) {
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
    public var pledgeId: PledgeID
    public var status: PledgeStatus
    public var amount: Int64
    public var refundedAmount: Int64

    public init(pledgeId: PledgeID, status: PledgeStatus, amount: Int64, refundedAmount: Int64) {
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
    public var pledgeIds: [PledgeID]

    public init(pledgeIds: [PledgeID]) {
        self.pledgeIds = pledgeIds
    }

    enum CodingKeys: String, CodingKey {
        case pledgeIds = "pledge_ids"
    }
}

/// The answer to `ResendRequest`: how many outbox rows go again.
public struct ResendAnswer: Codable, Sendable, Equatable {
    public var resent: Int

    public init(resent: Int) {
        self.resent = resent
    }
}
