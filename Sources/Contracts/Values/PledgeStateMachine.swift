/// The pledge's payment state machine: states ranked
/// `PENDING(0) < AUTHORIZED(1) < CAPTURED(2) | FAILED(2) < REFUNDED(3)`; news is applied only when
/// it moves the pledge to a higher rank, so CAPTURED may follow PENDING directly (capture implies
/// authorization, and a refund the capture), a late AUTHORIZED after CAPTURED changes nothing, and
/// FAILED takes nothing more. Anything not applied is ignored, never an error to the sender.
/// `PledgeState` adds the refunded amount and reads refunds into statuses before asking it.
public struct PledgeStateMachine: Sendable, Equatable {
    public private(set) var status: PledgeStatus

    public init(status: PledgeStatus = .pending) {
        self.status = status
    }

    public enum Decision: Sendable, Equatable {
        /// Move from `from` to `to`: write the transition and its event.
        case apply(from: PledgeStatus, to: PledgeStatus)
        /// Leave the pledge as it is.
        case ignore(IgnoreReason)
    }

    public enum IgnoreReason: String, Sendable, Equatable {
        /// The pledge is already in that status (a repeated delivery).
        case alreadyInStatus = "already_in_status"
        /// The pledge has moved past it (late, out-of-order news).
        case stale
        /// The pledge is settled (CAPTURED, FAILED or REFUNDED) and the news would not raise it.
        case terminal
    }

    /// Decides what `next` does to the pledge, and moves it when the decision is to apply.
    public mutating func receive(_ next: PledgeStatus) -> Decision {
        let decision = Self.decide(current: status, next: next)
        if case .apply(_, let to) = decision { status = to }
        return decision
    }

    /// The decision alone, for code that holds the status elsewhere (a locked row).
    public static func decide(current: PledgeStatus, next: PledgeStatus) -> Decision {
        if current.canAdvance(to: next) { return .apply(from: current, to: next) }
        if current == next { return .ignore(.alreadyInStatus) }
        if current.isSettled { return .ignore(.terminal) }
        return .ignore(.stale)
    }
}
