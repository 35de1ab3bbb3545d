import Foundation
import Persistence
import Synchronization

/// A clock a test sets and moves: stored times, leases, backoffs and expiry all read it, so a
/// test of "after the lease ends" or "a day later" advances it instead of sleeping.
public final class TestClock: StoreClock {
    private let current: Mutex<Date>

    /// Starts at `start` (now, unless a test needs a particular day).
    public init(_ start: Date = Date()) {
        current = Mutex(start)
    }

    public func now() -> Date {
        current.withLock { $0 }
    }

    public func advance(by duration: Duration) {
        current.withLock { $0 = $0.addingTimeInterval(Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18) }
    }

    public func set(_ date: Date) {
        current.withLock { $0 = date }
    }
}
