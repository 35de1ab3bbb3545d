import Testing
@testable import Contracts

@Suite("The pledge state machine")
struct PledgeStateMachineTests {
    /// Every (current, next) pair and what DESIGN.md says must happen.
    static let table: [(PledgeStatus, PledgeStatus, PledgeStateMachine.Decision)] = [
        (.pending, .pending, .ignore(.alreadyInStatus)),
        (.pending, .authorized, .apply(from: .pending, to: .authorized)),
        (.pending, .captured, .apply(from: .pending, to: .captured)),
        (.pending, .failed, .apply(from: .pending, to: .failed)),
        // A refund implies the capture.
        (.pending, .refunded, .apply(from: .pending, to: .refunded)),
        (.authorized, .pending, .ignore(.stale)),
        (.authorized, .authorized, .ignore(.alreadyInStatus)),
        (.authorized, .captured, .apply(from: .authorized, to: .captured)),
        (.authorized, .failed, .apply(from: .authorized, to: .failed)),
        (.authorized, .refunded, .apply(from: .authorized, to: .refunded)),
        (.captured, .pending, .ignore(.terminal)),
        (.captured, .authorized, .ignore(.terminal)),
        (.captured, .captured, .ignore(.alreadyInStatus)),
        (.captured, .failed, .ignore(.terminal)),
        (.captured, .refunded, .apply(from: .captured, to: .refunded)),
        (.failed, .pending, .ignore(.terminal)),
        (.failed, .authorized, .ignore(.terminal)),
        (.failed, .captured, .ignore(.terminal)),
        (.failed, .failed, .ignore(.alreadyInStatus)),
        // FAILED never takes a refund.
        (.failed, .refunded, .ignore(.terminal)),
        (.refunded, .pending, .ignore(.terminal)),
        (.refunded, .authorized, .ignore(.terminal)),
        (.refunded, .captured, .ignore(.terminal)),
        (.refunded, .failed, .ignore(.terminal)),
        (.refunded, .refunded, .ignore(.alreadyInStatus)),
    ]

    @Test("every transition of the 5x5 table decides as the ranks say")
    func exhaustive() {
        #expect(Self.table.count == PledgeStatus.allCases.count * PledgeStatus.allCases.count)
        for (current, next, expected) in Self.table {
            var machine = PledgeStateMachine(status: current)
            #expect(machine.receive(next) == expected, "\(current) + \(next)")
            if case .apply(_, let to) = expected {
                #expect(machine.status == to)
            } else {
                #expect(machine.status == current)
            }
        }
    }

    @Test("every order of AUTHORIZED, CAPTURED and FAILED news, with repeats, ends where the ranks say")
    func permutations() {
        let news: [PledgeStatus] = [.authorized, .captured, .failed]
        for first in news {
            for second in news where second != first {
                for third in news where third != first && third != second {
                    let order = [first, second, third]
                    for repeated in [order, order.flatMap { [$0, $0] }, order + order] {
                        var machine = PledgeStateMachine()
                        var applied = 0
                        for status in repeated {
                            if case .apply = machine.receive(status) { applied += 1 }
                        }
                        // The first terminal news wins; AUTHORIZED counts only if it came before it.
                        let firstTerminal = order.first { $0.isSettled }!
                        #expect(machine.status == firstTerminal, "\(repeated)")
                        #expect(applied == (order.firstIndex(of: .authorized)! < order.firstIndex(of: firstTerminal)! ? 2 : 1), "\(repeated)")
                    }
                }
            }
        }
    }

    @Test("a late AUTHORIZED after CAPTURED changes nothing; CAPTURED before AUTHORIZED still ends CAPTURED")
    func designExamples() {
        var late = PledgeStateMachine()
        _ = late.receive(.captured)
        #expect(late.receive(.authorized) == .ignore(.terminal))
        #expect(late.status == .captured)
    }
}
