import Contracts
import Foundation
import HTTPSupport

/// A create or update body: each field that is present is decoded and checked in this order, and
/// a bad one answers with its own code (a wrong type for `goal_amount` is `invalid_goal_amount`).
struct CampaignInput: Decodable, Equatable {
    var title: String?
    var description: String?
    var goalAmount: Int64?
    var currency: Currency?
    var status: CampaignStatus?

    static let titleLimit = TextLimit(characters: 200)
    static let descriptionLimit = TextLimit(characters: 10_000)

    /// As the request decoder sees them (it converts the body's snake_case keys).
    enum Keys: String, CodingKey {
        case title, description, goalAmount, currency, status
    }

    init(from decoder: any Decoder) throws {
        let body = try decoder.container(keyedBy: Keys.self)
        /// A field that is present: its value, or `refusal` if it is null or of another type.
        func present<Value: Decodable>(_ type: Value.Type, _ key: Keys, else refusal: CampaignServiceError) throws -> Value? {
            guard body.contains(key) else { return nil }
            do { return try body.decode(type, forKey: key) } catch { throw refusal }
        }
        if let raw = try present(String.self, .title, else: .invalidTitle) {
            let title = raw.trimmingCharacters(in: .whitespacesAndNewlines)
            guard !title.isEmpty, Self.titleLimit.allows(title) else { throw CampaignServiceError.invalidTitle }
            self.title = title
        }
        if body.contains(.description) {
            if try body.decodeNil(forKey: .description) {
                self.description = ""
            } else {
                guard let description = try? body.decode(String.self, forKey: .description), Self.descriptionLimit.allows(description) else {
                    throw CampaignServiceError.invalidDescription
                }
                self.description = description
            }
        }
        if let amount = try present(Int64.self, .goalAmount, else: .invalidGoalAmount) {
            guard amount > 0 else { throw CampaignServiceError.invalidGoalAmount }
            self.goalAmount = amount
        }
        if let code = try present(String.self, .currency, else: .invalidCurrency) {
            guard let currency = Currency(rawValue: code.uppercased()) else { throw CampaignServiceError.invalidCurrency }
            self.currency = currency
        }
        if let raw = try present(String.self, .status, else: .invalidStatus) {
            guard let status = CampaignStatus(rawValue: raw) else { throw CampaignServiceError.invalidStatus }
            self.status = status
        }
    }

    /// A new campaign: title, goal_amount and currency are required; status defaults to active.
    func newCampaign(id: CampaignID, at time: String) throws -> Campaign {
        guard let title else { throw CampaignServiceError.invalidTitle }
        guard let goalAmount else { throw CampaignServiceError.invalidGoalAmount }
        guard let currency else { throw CampaignServiceError.invalidCurrency }
        return Campaign(
            id: id, title: title, description: description ?? "", goal: Money(goalAmount, currency),
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
        if let goalAmount { campaign.goal = campaign.goal.with(minorUnits: goalAmount) }
        if let currency { campaign.currency = currency }
        if let status { campaign.status = status }
    }
}
