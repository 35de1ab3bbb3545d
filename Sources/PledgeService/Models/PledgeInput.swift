import Contracts
import Foundation
import HTTPSupport

/// A `POST /pledges` body, decoded field by field in this order, each field's problem answered
/// with its own stable code. Any `status`, `user_id` or `id` a client sends is ignored: those are
/// ours to set.
struct PledgeInput: Decodable, Equatable {
    let campaignId: CampaignID
    let amount: Money
    let anonymous: Bool
    let message: String?
    let donor: Donor?

    struct Donor: Equatable {
        let name: String
        let email: String
    }

    static let messageLimit = TextLimit(characters: 500)
    static let nameLimit = TextLimit(characters: 200)

    /// As the request decoder sees them (it converts the body's snake_case keys).
    enum Keys: String, CodingKey {
        case campaignId, amount, currency, anonymous, message, donor
    }

    enum DonorKeys: String, CodingKey {
        case name, email
    }

    init(from decoder: any Decoder) throws {
        let body = try decoder.container(keyedBy: Keys.self)
        guard let campaignId = (try? body.decode(String.self, forKey: .campaignId))?.trimmingCharacters(in: .whitespaces),
            !campaignId.isEmpty, campaignId.count <= 100
        else { throw PledgeServiceError.invalidCampaign }
        let currency = (try? body.decode(String.self, forKey: .currency)).flatMap { Currency(rawValue: $0.uppercased()) }
        guard let amount = try? body.decode(Int64.self, forKey: .amount), amount > 0 else {
            throw PledgeServiceError.invalidAmount(maximum: nil, currency: currency)
        }
        guard let currency else { throw PledgeServiceError.invalidCurrency }
        /// An optional field: absent or null is nil; a value of the wrong type is `refusal`.
        func optional<Value: Decodable>(_ type: Value.Type, _ key: Keys, else refusal: PledgeServiceError) throws -> Value? {
            do { return try body.decodeIfPresent(type, forKey: key) } catch { throw refusal }
        }
        self.anonymous = try optional(Bool.self, .anonymous, else: .invalidAnonymous) ?? false
        if let message = try optional(String.self, .message, else: .invalidMessage) {
            guard Self.messageLimit.allows(message) else { throw PledgeServiceError.invalidMessage }
            let trimmed = message.trimmingCharacters(in: .whitespacesAndNewlines)
            self.message = trimmed.isEmpty ? nil : trimmed
        } else {
            self.message = nil
        }
        if body.contains(.donor), try !body.decodeNil(forKey: .donor) {
            guard let donor = try? body.nestedContainer(keyedBy: DonorKeys.self, forKey: .donor),
                let name = (try? donor.decode(String.self, forKey: .name))?.trimmingCharacters(in: .whitespacesAndNewlines), !name.isEmpty,
                Self.nameLimit.allows(name),
                let email = (try? donor.decode(String.self, forKey: .email))?.trimmingCharacters(in: .whitespacesAndNewlines).lowercased(),
                Self.isEmail(email)
            else { throw PledgeServiceError.invalidDonor }
            self.donor = Donor(name: name, email: email)
        } else {
            self.donor = nil
        }
        self.campaignId = CampaignID(campaignId)
        self.amount = Money(amount, currency)
    }

    var currency: Currency { amount.currency }

    /// The pledge, if its amount is at most `maximumMajorUnits` whole units of its currency
    /// (1,000,000 is 100,000,000 cents of USD, 1,000,000 JPY, 1,000,000,000 fils of KWD).
    func limited(toMajorUnits maximumMajorUnits: Int64) throws -> PledgeInput {
        let maximum = currency.minorUnits(ofMajor: maximumMajorUnits)
        guard amount.minorUnits <= maximum else { throw PledgeServiceError.invalidAmount(maximum: maximum, currency: currency) }
        return self
    }

    static func isEmail(_ email: String) -> Bool {
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        return email.utf8.count <= 254 && parts.count == 2 && !parts[0].isEmpty && parts[1].contains(".")
            && !parts[1].hasPrefix(".") && !parts[1].hasSuffix(".") && !email.contains(where: \.isWhitespace)
    }
}
