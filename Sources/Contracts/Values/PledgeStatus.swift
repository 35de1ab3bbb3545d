/// A pledge's payment status, ranked:
/// `PENDING(0) < AUTHORIZED(1) < CAPTURED(2) | FAILED(2) < REFUNDED(3)`. Only a move to a higher
/// rank is ever applied, so late or repeated news cannot move a pledge backwards. A captured
/// pledge can still be refunded (in part: it stays CAPTURED with a refunded amount; in full: it
/// becomes REFUNDED); FAILED and REFUNDED are final.
public enum PledgeStatus: String, Codable, Sendable, CaseIterable {
    case pending = "PENDING"
    case authorized = "AUTHORIZED"
    case captured = "CAPTURED"
    case failed = "FAILED"
    case refunded = "REFUNDED"

    public var rank: Int {
        switch self {
        case .pending: 0
        case .authorized: 1
        case .captured, .failed: 2
        case .refunded: 3
        }
    }

    /// Settled one way or the other: no payment can be made for it any more.
    public var isSettled: Bool { rank >= 2 }

    /// Whether news of `next` moves a pledge that is `self` now. Nothing moves a FAILED pledge.
    public func canAdvance(to next: PledgeStatus) -> Bool {
        self != .failed && next.rank > rank
    }
}
