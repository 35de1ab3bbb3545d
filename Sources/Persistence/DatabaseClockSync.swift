import Foundation
import Logging
import SQLKit
import ServiceLifecycle

/// Measures a `DatabaseClock`'s offset against PostgreSQL at start and every `interval` after,
/// until graceful shutdown; logs a warning when the offset moves by more than a second (the first
/// reading included). On SQLite it only waits for shutdown.
public struct DatabaseClockSync: Service {
    let client: any DatabaseClient
    let clock: DatabaseClock
    let interval: Duration
    let logger: Logger

    public init(client: any DatabaseClient, clock: DatabaseClock, interval: Duration = .seconds(30), logger: Logger) {
        self.client = client
        self.clock = clock
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
                if abs(offset - clock.offset) > 1 {
                    logger.warning("this host's clock is off the database's; stored times follow the database", metadata: [
                        "offset_seconds": .stringConvertible((offset * 1000).rounded() / 1000),
                    ])
                    clock.set(offset: offset)
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
