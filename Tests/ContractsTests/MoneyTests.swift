import Contracts
import Testing

@Suite("Money: minor units of one currency")
struct MoneyTests {
    let usd = Currency(rawValue: "USD")!
    let jpy = Currency(rawValue: "JPY")!
    let kwd = Currency(rawValue: "KWD")!

    @Test("sums, differences and order within one currency; shown in the currency's own digits")
    func arithmetic() {
        let pledge = Money(2500, usd)
        let refunded = pledge.with(minorUnits: 1000)
        #expect(pledge - refunded == Money(1500, usd))
        #expect(refunded + refunded + Money.zero(usd) == Money(2000, usd))
        #expect(refunded < pledge && max(pledge, refunded) == pledge)
        #expect(!Money.zero(usd).isPositive && pledge.isPositive)
        #expect(pledge.description == "25.00 USD")
        #expect(Money(2500, jpy).description == "2500 JPY")
        #expect(Money(2500, kwd).description == "2.500 KWD")
        #expect(Money(-5, usd).description == "-0.05 USD")
    }

    @Test("amounts of two currencies never meet: adding, subtracting or comparing them stops the process")
    func currenciesNeverMix() async {
        await #expect(processExitsWith: .failure) { _ = Money(100, Currency(rawValue: "USD")!) + Money(100, Currency(rawValue: "EUR")!) }
        await #expect(processExitsWith: .failure) { _ = Money(100, Currency(rawValue: "USD")!) - Money(100, Currency(rawValue: "EUR")!) }
        await #expect(processExitsWith: .failure) { _ = Money(100, Currency(rawValue: "USD")!) < Money(100, Currency(rawValue: "EUR")!) }
    }
}
