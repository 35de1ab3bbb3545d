/// Money is always an `Int64` of minor units (`2500` is 25.00) beside one of these; never
/// floating point. An ISO-4217 currency the platform accepts, with its number of minor-unit digits.
public struct Currency: RawRepresentable, Hashable, Sendable, Codable, CustomStringConvertible {
    public let rawValue: String

    public init?(rawValue: String) {
        guard Self.minorUnitDigits[rawValue] != nil else { return nil }
        self.rawValue = rawValue
    }

    public var description: String { rawValue }

    /// 2 for USD (cents), 0 for JPY, 3 for KWD.
    public var minorUnitDigits: Int { Self.minorUnitDigits[rawValue] ?? 2 }

    /// `major` whole units in minor units (1 USD is 100, 1 JPY is 1, 1 KWD is 1,000), capped at
    /// `Int64.max`.
    public func minorUnits(ofMajor major: Int64) -> Int64 {
        var result = major
        for _ in 0..<minorUnitDigits {
            let (product, overflow) = result.multipliedReportingOverflow(by: 10)
            if overflow { return .max }
            result = product
        }
        return result
    }

    /// An amount of minor units as a plain decimal in this currency's digits, with the code:
    /// `2500` is "25.00 USD", "2500 JPY" or "2.500 KWD". For messages and receipts.
    public func format(_ minor: Int64) -> String {
        let digits = minorUnitDigits
        let magnitude = String(minor.magnitude)
        let padded = String(repeating: "0", count: max(0, digits + 1 - magnitude.count)) + magnitude
        let whole = padded.dropLast(digits)
        let fraction = padded.suffix(digits)
        return (minor < 0 ? "-" : "") + whole + (digits > 0 ? "." + fraction : "") + " " + rawValue
    }

    /// The currencies we accept: widely used ones whose minor units are well known.
    static let minorUnitDigits: [String: Int] = [
        "AED": 2, "AUD": 2, "BDT": 2, "BRL": 2, "CAD": 2, "CHF": 2, "CNY": 2, "CZK": 2, "DKK": 2,
        "EGP": 2, "EUR": 2, "GBP": 2, "HKD": 2, "HUF": 2, "IDR": 2, "ILS": 2, "INR": 2, "JPY": 0,
        "KES": 2, "KRW": 0, "KWD": 3, "MXN": 2, "MYR": 2, "NGN": 2, "NOK": 2, "NZD": 2, "PHP": 2,
        "PKR": 2, "PLN": 2, "SAR": 2, "SEK": 2, "SGD": 2, "THB": 2, "TRY": 2, "TWD": 2, "UAH": 2,
        "USD": 2, "VND": 0, "ZAR": 2,
    ]

    public init(from decoder: any Decoder) throws {
        let raw = try decoder.singleValueContainer().decode(String.self)
        guard let currency = Currency(rawValue: raw) else {
            throw DecodingError.dataCorrupted(.init(codingPath: decoder.codingPath, debugDescription: "unsupported currency \(raw)"))
        }
        self = currency
    }

    public func encode(to encoder: any Encoder) throws {
        var container = encoder.singleValueContainer()
        try container.encode(rawValue)
    }
}
