/// An amount of one currency in its minor units: `Money(2500, usd)` is 25.00 USD. How the domain
/// holds every amount (a pledge's, a payment's, a refund's, a campaign's goal); never floating
/// point. Sums and differences are of one currency only: the currency lock keeps two currencies
/// from meeting, so meeting them anyway is a bug and stops the process rather than mix them.
///
/// On the wire and in the tables an amount stays two fields, `amount` (minor units) and
/// `currency`, as the API documents them.
public struct Money: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let minorUnits: Int64
    public let currency: Currency

    public init(_ minorUnits: Int64, _ currency: Currency) {
        self.minorUnits = minorUnits
        self.currency = currency
    }

    /// Nothing, in `currency`.
    public static func zero(_ currency: Currency) -> Money { Money(0, currency) }

    public var isPositive: Bool { minorUnits > 0 }

    /// "25.00 USD", "2500 JPY", "2.500 KWD".
    public var description: String { currency.format(minorUnits) }

    public static func + (lhs: Money, rhs: Money) -> Money {
        precondition(lhs.currency == rhs.currency, "adding \(rhs.currency) to \(lhs.currency)")
        return Money(lhs.minorUnits + rhs.minorUnits, lhs.currency)
    }

    public static func - (lhs: Money, rhs: Money) -> Money {
        precondition(lhs.currency == rhs.currency, "subtracting \(rhs.currency) from \(lhs.currency)")
        return Money(lhs.minorUnits - rhs.minorUnits, lhs.currency)
    }

    public static func < (lhs: Money, rhs: Money) -> Bool {
        precondition(lhs.currency == rhs.currency, "comparing \(lhs.currency) with \(rhs.currency)")
        return lhs.minorUnits < rhs.minorUnits
    }

    /// `minorUnits` of the same currency.
    public func with(minorUnits: Int64) -> Money { Money(minorUnits, currency) }
}
