import Events
import Foundation
import HTTPSupport

/// A create or update body, checked field by field so each bad field gets its own code.
struct CampaignInput: Equatable {
    var title: String?
    var description: String?
    var goalAmount: Int64?
    var currency: Currency?
    var status: CampaignStatus?

    static let titleLimit = TextLimit(characters: 200)
    static let descriptionLimit = TextLimit(characters: 10_000)

    init(_ object: [String: JSONValue]) throws {
        if let value = object["title"] {
            guard let raw = value.stringValue else { throw CampaignServiceError.invalidTitle }
            let title = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !title.isEmpty, Self.titleLimit.allows(title) else { throw CampaignServiceError.invalidTitle }
            self.title = title
        }
        if let value = object["description"] {
            switch value {
            case .null: self.description = ""
            case .string(let description) where Self.descriptionLimit.allows(description): self.description = description
            default: throw CampaignServiceError.invalidDescription
            }
        }
        if let value = object["goal_amount"] {
            guard let amount = value.integerValue, amount > 0 else { throw CampaignServiceError.invalidGoalAmount }
            self.goalAmount = amount
        }
        if let value = object["currency"] {
            guard let code = value.stringValue, let currency = Currency(rawValue: code.uppercased()) else {
                throw CampaignServiceError.invalidCurrency
            }
            self.currency = currency
        }
        if let value = object["status"] {
            guard let raw = value.stringValue, let status = CampaignStatus(rawValue: raw) else { throw CampaignServiceError.invalidStatus }
            self.status = status
        }
    }

    /// A new campaign: title, goal_amount and currency are required; status defaults to active.
    func newCampaign(id: String, at time: String) throws -> Campaign {
        guard let title else { throw CampaignServiceError.invalidTitle }
        guard let goalAmount else { throw CampaignServiceError.invalidGoalAmount }
        guard let currency else { throw CampaignServiceError.invalidCurrency }
        return Campaign(
            id: id, title: title, description: description ?? "", goalAmount: goalAmount, currency: currency,
            status: status ?? .active, createdAt: time, updatedAt: time, totals: CampaignTotals()
        )
    }

    /// Applies the fields present to `campaign`. A closed campaign no longer changes, and the
    /// currency is fixed once a pledge in it may exist.
    func apply(to campaign: inout Campaign) throws {
        guard campaign.status != .closed else { throw CampaignServiceError.campaignClosed }
        if let currency, currency != campaign.currency, campaign.currencyLocked || campaign.totals.totalPledges > 0 {
            throw CampaignServiceError.currencyLocked
        }
        if let title { campaign.title = title }
        if let description { campaign.description = description }
        if let goalAmount { campaign.goalAmount = goalAmount }
        if let currency { campaign.currency = currency }
        if let status { campaign.status = status }
    }
}
