/// A pledge's payment state: the pair of its ranked status and how much of it has been given
/// back. Every service that learns about payments merges news into it the same way, so that
/// order and duplicates cannot change the result:
///
/// - the status only rises (`PledgeStateMachine`), and nothing moves a FAILED pledge;
/// - the refunded amount only grows, up to the amount;
/// - a refund implies the capture, and a refund of all of it makes the pledge REFUNDED;
/// - news of REFUNDED is a refund of all of it, and a FAILED pledge takes no refund.
public struct PledgeState: Sendable, Equatable {
    public private(set) var status: PledgeStatus
    public private(set) var refundedAmount: Int64
    public let amount: Int64

    public init(status: PledgeStatus = .pending, refundedAmount: Int64 = 0, amount: Int64) {
        self.status = status
        self.refundedAmount = refundedAmount
        self.amount = amount
    }

    /// What taking one piece of news changed.
    public struct Change: Sendable, Equatable {
        /// The status it moved from, when it moved.
        public var movedFrom: PledgeStatus?
        public var refundRaised = false

        public var changed: Bool { movedFrom != nil || refundRaised }
    }

    /// Merges news that the pledge is `reported`, with `refunded` given back so far (cumulative).
    @discardableResult
    public mutating func take(_ reported: PledgeStatus, refunded: Int64 = 0) -> Change {
        let refund = reported == .refunded ? amount : min(max(refunded, 0), amount)
        var implied = reported
        if reported != .failed, refund > 0 {
            implied = refund >= amount ? .refunded : (reported.rank < PledgeStatus.captured.rank ? .captured : reported)
        }
        var change = Change()
        if case .apply(let from, let to) = PledgeStateMachine.decide(current: status, next: implied) {
            change.movedFrom = from
            status = to
        }
        let kept = status == .refunded ? amount : (status == .failed ? 0 : max(refundedAmount, refund))
        if kept > refundedAmount {
            refundedAmount = kept
            change.refundRaised = true
        }
        return change
    }
}
