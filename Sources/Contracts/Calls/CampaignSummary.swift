/// What pledge-service needs to know of a campaign before taking a pledge, and payment-service
/// before charging one: campaign-service's `GET /campaigns/{id}` (the fields it reads of it) and
/// its signed `POST /campaigns/internal/pledgeable`.
public struct CampaignSummary: Sendable, Equatable, Codable {
    public let id: CampaignID
    public let status: String
    public let currency: String
    /// For receipts and mail; optional so that an answer without it still reads.
    public let title: String?
    /// In answers to `pledgeable`: the currency is fixed for good.
    public let currencyLocked: Bool?

    public init(id: CampaignID, status: String, currency: String, title: String? = nil, currencyLocked: Bool? = nil) {
        self.id = id
        self.status = status
        self.currency = currency
        self.title = title
        self.currencyLocked = currencyLocked
    }

    enum CodingKeys: String, CodingKey {
        case id, status, currency, title
        case currencyLocked = "currency_locked"
    }
}

/// pledge-service's question before it takes a pledge: does the campaign take pledges in this
/// currency? campaign-service answers with the campaign, and when it is active in that currency
/// fixes the currency for good, so no pledge taken on this answer can be left in a currency the
/// campaign no longer has.
public struct PledgeableRequest: Sendable, Codable, Equatable {
    public let campaignId: CampaignID
    public let currency: String

    public init(campaignId: CampaignID, currency: String) {
        self.campaignId = campaignId
        self.currency = currency
    }

    enum CodingKeys: String, CodingKey {
        case campaignId = "campaign_id"
        case currency
    }
}
