import Foundation
import Synchronization

/// The time stored rows are dated in and compared against: outbox and mail schedules and
/// leases, idempotency expiry, every `created_at`. Passed in to whatever reads it (stores,
/// relays, controllers), never read from a global, so a test can set it and move it.
public protocol StoreClock: Sendable {
    func now() -> Date
}

extension StoreClock {
    /// Now, in the stored form (`Timestamp`).
    public func timestamp() -> String {
        Timestamp.format(now())
    }
}

/// This host's clock: what SQLite, on this host only, is compared with.
public struct SystemClock: StoreClock {
    public init() {}

    public func now() -> Date {
        Date()
    }
}

/// This host's clock corrected by its measured offset from the database server's clock.
///
/// Rows are dated by one process and compared by another: an outbox row scheduled by one replica
/// is claimed by the next, a lease taken before a restart is checked after it. With each host's
/// own clock, a host minutes behind would wait minutes for rows the others made due, and a host
/// ahead would take leases early. The database is the one clock they all share, so stored times
/// follow it. Signatures and tokens keep the wall clock: they are checked by other hosts within
/// their tolerance, and the offset is a database matter.
///
/// `DatabaseClockSync` measures the offset against PostgreSQL; on SQLite, whose clock is this
/// host's, it stays zero.
public final class DatabaseClock: StoreClock {
    private let offsetMicroseconds = Atomic<Int64>(0)

    public init() {}

    public func now() -> Date {
        Date().addingTimeInterval(offset)
    }

    /// Seconds to add to this host's clock to read the database's.
    public var offset: TimeInterval {
        TimeInterval(offsetMicroseconds.load(ordering: .relaxed)) / 1_000_000
    }

    func set(offset: TimeInterval) {
        offsetMicroseconds.store(Int64((offset * 1_000_000).rounded()), ordering: .relaxed)
    }
}
