import Events
import Foundation
import HTTPSupport

/// A `POST /pledges` body, checked field by field. Any `status`, `user_id` or `id` a client
/// sends is ignored: those are ours to set.
struct PledgeInput: Equatable {
    let campaignId: String
    let amount: Int64
    let currency: Currency
    let anonymous: Bool
    let message: String?
    let donor: Donor?

    struct Donor: Equatable {
        let name: String
        let email: String
    }

    static let messageLimit = TextLimit(characters: 500)
    static let nameLimit = TextLimit(characters: 200)

    /// `maximumMajorUnits` is the largest pledge in whole units of its currency (1,000,000 is
    /// 100,000,000 cents of USD, 1,000,000 JPY, 1,000,000,000 fils of KWD).
    init(_ object: [String: JSONValue], maximumMajorUnits: Int64) throws {
        guard let campaignId = object["campaign_id"]?.stringValue?.trimmingCharacters(in: .whitespaces),
            !campaignId.isEmpty, campaignId.count <= 100
        else { throw PledgeServiceError.invalidCampaign }
        let currency = object["currency"]?.stringValue.flatMap { Currency(rawValue: $0.uppercased()) }
        let maximum = (currency ?? Currency(rawValue: "USD")!).minorUnits(ofMajor: maximumMajorUnits)
        guard let amount = object["amount"]?.integerValue, amount > 0, amount <= maximum else {
            throw PledgeServiceError.invalidAmount(maximum: maximum, currency: currency)
        }
        guard let currency else { throw PledgeServiceError.invalidCurrency }
        switch object["anonymous"] {
        case nil, .null: self.anonymous = false
        case .bool(let value): self.anonymous = value
        default: throw PledgeServiceError.invalidAnonymous
        }
        switch object["message"] {
        case nil, .null: self.message = nil
        case .string(let text) where Self.messageLimit.allows(text):
            let trimmed = text.trimmingCharacters(in: .whitespacesAndNewlines)
            self.message = trimmed.isEmpty ? nil : trimmed
        default: throw PledgeServiceError.invalidMessage
        }
        switch object["donor"] {
        case nil, .null:
            self.donor = nil
        case .object(let donor):
            guard let name = donor["name"]?.stringValue?.trimmingCharacters(in: .whitespacesAndNewlines), !name.isEmpty,
                Self.nameLimit.allows(name),
                let email = donor["email"]?.stringValue?.trimmingCharacters(in: .whitespacesAndNewlines).lowercased(),
                Self.isEmail(email)
            else { throw PledgeServiceError.invalidDonor }
            self.donor = Donor(name: name, email: email)
        default:
            throw PledgeServiceError.invalidDonor
        }
        self.campaignId = campaignId
        self.amount = amount
        self.currency = currency
    }

    static func isEmail(_ email: String) -> Bool {
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        return email.utf8.count <= 254 && parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".")
            && !parts[1].hasPrefix(".") && !parts[1].hasSuffix(".") && !email.contains(where: \.isWhitespace)
    }
}
