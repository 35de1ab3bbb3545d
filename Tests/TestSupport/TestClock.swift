import Foundation
import Persistence
import Synchronization

/// A clock a test sets and moves: stored times, leases, backoffs and expiry all read it, and so
/// do the in-memory caches' ages (`instant`), so a test of "after the lease ends", "once the
/// entry is stale" or "a day later" advances it instead of sleeping.
public final class TestClock: StoreClock {
    private let current: Mutex<Date>
    private let elapsed = Mutex<Duration>(.zero)
    private let start = ContinuousClock.now

    /// Starts at `start` (now, unless a test needs a particular day).
    public init(_ start: Date = Date()) {
        current = Mutex(start)
    }

    public func now() -> Date {
        current.withLock { $0 }
    }

    /// The monotonic time caches measure ages in; it moves only when the test advances it.
    @Sendable public func instant() -> ContinuousClock.Instant {
        start + elapsed.withLock { $0 }
    }

    public func advance(by duration: Duration) {
        current.withLock { $0 = $0.addingTimeInterval(Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18) }
        elapsed.withLock { $0 += duration }
    }

    public func set(_ date: Date) {
        current.withLock { $0 = date }
    }
}
