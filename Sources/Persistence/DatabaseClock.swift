import Foundation
import Logging
import SQLKit
import ServiceLifecycle
import Synchronization

/// The time every stored timestamp is written and compared in: this host's wall clock corrected
/// by its measured offset from the database server's clock.
///
/// Rows are dated by one process and compared by another: an outbox row scheduled by one replica
/// is claimed by the next, a lease taken before a restart is checked after it. With each host's
/// own clock, a host minutes behind would wait minutes for rows the others made due, and a host
/// ahead would take leases early. The database is the one clock they all share, so stored times
/// follow it. Signatures and tokens keep the wall clock: they are checked by other hosts within
/// their tolerance, and the offset is a database matter.
///
/// The offset is per process: `DatabaseClockSync` measures it against PostgreSQL; on SQLite, whose
/// clock is this host's, it stays zero.
public enum DatabaseClock {
    private static let offsetMicroseconds = Atomic<Int64>(0)

    /// The database's time now, as far as this process knows it.
    public static func now() -> Date {
        Date().addingTimeInterval(offset)
    }

    /// Seconds to add to this host's clock to read the database's.
    public static var offset: TimeInterval {
        TimeInterval(offsetMicroseconds.load(ordering: .relaxed)) / 1_000_000
    }

    static func set(offset: TimeInterval) {
        offsetMicroseconds.store(Int64((offset * 1_000_000).rounded()), ordering: .relaxed)
    }
}

/// Measures `DatabaseClock.offset` against PostgreSQL at start and every `interval` after, until
/// graceful shutdown; logs a warning when the offset moves by more than a second (the first
/// reading included). On SQLite it only waits for shutdown.
public struct DatabaseClockSync: Service {
    let client: any DatabaseClient
    let interval: Duration
    let logger: Logger

    public init(client: any DatabaseClient, interval: Duration = .seconds(30), logger: Logger) {
        self.client = client
        self.interval = interval
        self.logger = logger
    }

    public func run() async throws {
        guard client.kind == .postgres else {
            try? await gracefulShutdown()
            return
        }
        var measured = false
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            do {
                let offset = try await measure()
                // Only a move of over a second is taken: a reading's own noise (tens of
                // milliseconds under load) would otherwise step stored times back and forth.
                if abs(offset - DatabaseClock.offset) > 1 {
                    logger.warning("this host's clock is off the database's; stored times follow the database", metadata: [
                        "offset_seconds": .stringConvertible((offset * 1000).rounded() / 1000),
                    ])
                    DatabaseClock.set(offset: offset)
                }
                measured = true
            } catch {
                logger.debug("could not read the database's clock", metadata: ["error": "\(error)"])
            }
            // Until the first reading, try again soon.
            let pause = measured ? interval : .seconds(1)
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: pause) }
        }
    }

    /// The database's clock minus this host's, read at the midpoint of one round trip.
    func measure() async throws -> TimeInterval {
        try await client.withConnection { db in
            let sent = Date()
            let row = try await db.raw("SELECT extract(epoch FROM clock_timestamp())::float8 AS now").first()
            let received = Date()
            guard let now = try row?.decode(column: "now", as: Double.self) else { throw DatabaseClockUnreadable() }
            let midpoint = sent.timeIntervalSince1970 + received.timeIntervalSince(sent) / 2
            return now - midpoint
        }
    }
}

struct DatabaseClockUnreadable: Error {}
