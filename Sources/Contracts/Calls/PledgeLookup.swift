/// `POST /pledges/internal/lookup` (pledge-service, signed): payment-service asks what it may
/// charge for a pledge, and whether the guest's receipt token (if any) is the pledge's.
public struct PledgeLookupRequest: Codable, Sendable, Equatable {
    public var pledgeId: PledgeID
    public var receiptToken: String?

    public init(pledgeId: PledgeID, receiptToken: String?) {
        self.pledgeId = pledgeId
        self.receiptToken = receiptToken
    }

    enum CodingKeys: String, CodingKey {
        case pledgeId = "pledge_id", receiptToken = "receipt_token"
    }
}

/// The answer: the pledge's own amount, currency, campaign and owner, never the client's.
public struct PledgeLookupResponse: Codable, Sendable, Equatable {
    public var id: PledgeID
    public var campaignId: CampaignID
    public var userId: UserID?
    public var amount: Int64
    public var currency: Currency
    public var status: PledgeStatus
    /// True only when a receipt token was sent and it is this pledge's.
    public var receiptTokenValid: Bool

    public init(id: PledgeID, campaignId: CampaignID, userId: UserID?, amount: Int64, currency: Currency, status: PledgeStatus, receiptTokenValid: Bool) {
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
