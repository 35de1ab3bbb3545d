import Testing
@testable import Contracts

@Suite("A pledge's state: status and refunded amount")
struct PledgeStateTests {
    @Test("a refund implies the capture; all of it makes REFUNDED; a later smaller report changes nothing")
    func refunds() {
        var state = PledgeState(amount: 2500)
        #expect(state.take(.captured, refunded: 1000) == PledgeState.Change(movedFrom: .pending, refundRaised: true))
        #expect(state.status == .captured && state.refundedAmount == 1000)
        #expect(!state.take(.captured, refunded: 400).changed)
        #expect(state.take(.captured, refunded: 2500) == PledgeState.Change(movedFrom: .captured, refundRaised: true))
        #expect(state.status == .refunded && state.refundedAmount == 2500)
        #expect(!state.take(.authorized).changed && !state.take(.failed).changed)
    }

    @Test("news of REFUNDED is a refund of all of it; a refund above the amount counts as the amount")
    func refundedNews() {
        var state = PledgeState(status: .authorized, amount: 700)
        state.take(.refunded)
        #expect(state.status == .refunded && state.refundedAmount == 700)
        var over = PledgeState(amount: 700)
        over.take(.captured, refunded: 9_999)
        #expect(over.status == .refunded && over.refundedAmount == 700)
    }

    @Test("a FAILED pledge takes no refund, and a failure reported with one still fails")
    func failed() {
        var state = PledgeState(amount: 500)
        state.take(.failed)
        #expect(!state.take(.refunded).changed && !state.take(.captured, refunded: 200).changed)
        #expect(state.status == .failed && state.refundedAmount == 0)
        var reported = PledgeState(amount: 500)
        reported.take(.failed, refunded: 200)
        #expect(reported.status == .failed && reported.refundedAmount == 0)
    }

    @Test("every order of a pledge's news, each given twice, ends in the same state")
    func orderIndependent() {
        let news: [(PledgeStatus, Int64)] = [(.authorized, 0), (.captured, 0), (.captured, 300), (.captured, 1000)]
        var ends = Set<String>()
        for order in permutations(Array(news.indices)) {
            var state = PledgeState(amount: 1000)
            for index in order + order { state.take(news[index].0, refunded: news[index].1) }
            ends.insert("\(state.status.rawValue) \(state.refundedAmount)")
        }
        #expect(ends == ["REFUNDED 1000"])
    }

    func permutations(_ items: [Int]) -> [[Int]] {
        guard items.count > 1 else { return [items] }
        return items.indices.flatMap { index -> [[Int]] in
            var rest = items
            let first = rest.remove(at: index)
            return permutations(rest).map { [first] + $0 }
        }
    }
}
