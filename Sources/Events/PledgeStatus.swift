/// A pledge's payment status, ranked: `PENDING(0) < AUTHORIZED(1) < CAPTURED(2) | FAILED(2)`.
/// Only a move to a higher rank is ever applied, so late or repeated news cannot move a pledge
/// backwards; CAPTURED and FAILED are terminal.
public enum PledgeStatus: String, Codable, Sendable, CaseIterable {
    case pending = "PENDING"
    case authorized = "AUTHORIZED"
    case captured = "CAPTURED"
    case failed = "FAILED"

    public var rank: Int {
        switch self {
        case .pending: 0
        case .authorized: 1
        case .captured, .failed: 2
        }
    }

    public var isTerminal: Bool { rank == 2 }

    /// Whether news of `next` moves a pledge that is `self` now.
    public func canAdvance(to next: PledgeStatus) -> Bool {
        next.rank > rank
    }
}
