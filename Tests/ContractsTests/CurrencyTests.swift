import Testing
@testable import Contracts

@Suite("Currencies and their minor units")
struct CurrencyTests {
    @Test("each currency has its own number of minor-unit digits", arguments: [("USD", 2), ("JPY", 0), ("KWD", 3), ("EUR", 2), ("KRW", 0)])
    func digits(code: String, digits: Int) throws {
        #expect(try #require(Currency(rawValue: code)).minorUnitDigits == digits)
    }

    @Test("whole units become minor units by the currency's digits, capped instead of overflowing")
    func minorUnits() throws {
        #expect(try #require(Currency(rawValue: "USD")).minorUnits(ofMajor: 25) == 2_500)
        #expect(try #require(Currency(rawValue: "JPY")).minorUnits(ofMajor: 25) == 25)
        #expect(try #require(Currency(rawValue: "KWD")).minorUnits(ofMajor: 25) == 25_000)
        #expect(try #require(Currency(rawValue: "KWD")).minorUnits(ofMajor: .max / 10) == .max)
    }

    @Test("an amount is written in the currency's own digits", arguments: [
        ("USD", 2500, "25.00 USD"), ("USD", 5, "0.05 USD"), ("USD", 0, "0.00 USD"), ("USD", -1234, "-12.34 USD"),
        ("JPY", 2500, "2500 JPY"), ("KWD", 2500, "2.500 KWD"), ("KWD", 1, "0.001 KWD"),
    ] as [(String, Int64, String)])
    func format(code: String, minor: Int64, text: String) throws {
        #expect(try #require(Currency(rawValue: code)).format(minor) == text)
    }

    @Test("only known ISO-4217 codes are currencies")
    func unknown() {
        #expect(Currency(rawValue: "DOGE") == nil)
        #expect(Currency(rawValue: "usd") == nil)
    }
}
