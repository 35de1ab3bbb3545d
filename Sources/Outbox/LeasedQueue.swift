import Foundation
import Logging
import Observability
import Persistence
import SQLKit
import ServiceLifecycle
import Synchronization

/// A table of work that several workers share, the one way the platform queues anything (the
/// outbox relay's events, notification-service's mail):
/// - **claim**: due rows are taken for a lease in one statement (`FOR UPDATE SKIP LOCKED` on
///   PostgreSQL, so replicas never claim the same row; a worker that dies frees its rows when the
///   lease ends), their attempt counted;
/// - **finish**: a row done is marked so (its table says how) and its lease dropped;
/// - **retry**: a row that failed for a reason that may pass is due again after a capped
///   exponential backoff with jitter, for as long as it takes;
/// - **give up**: a row refused for good is kept, marked (dead, FAILED), never claimed again on its own;
/// - **wake**: a commit that adds work signals the worker (`QueueSignal`), which otherwise polls.
public struct LeasedQueue: Sendable {
    /// A queue table's shape: rows have `id`, `attempts`, `next_attempt_at` and `last_error`
    /// columns, a lease column, and a condition for the rows still to do.
    public struct Table: Sendable {
        /// For logs and metrics.
        public let label: String
        public let name: SQLQueryString
        /// The rows not yet done or given up (`delivered_at IS NULL AND dead_at IS NULL`).
        public let waiting: SQLQueryString
        public let lease: SQLQueryString
        /// The order rows are claimed in.
        public let order: SQLQueryString
        /// The columns a claim returns.
        public let returning: SQLQueryString

        /// `name` is a table of this service's own schema, written out in code.
        public init(name: String, waiting: SQLQueryString, lease: SQLQueryString, order: SQLQueryString, returning: SQLQueryString) {
            self.label = name
            self.name = SQLQueryString(name)
            self.waiting = waiting
            self.lease = lease
            self.order = order
            self.returning = returning
        }
    }

    public let database: any DatabaseClient
    public let table: Table
    /// How long a claim lasts.
    public let lease: Duration
    public let backoff: Backoff

    public init(database: any DatabaseClient, table: Table, lease: Duration, backoff: Backoff) {
        self.database = database
        self.table = table
        self.lease = lease
        self.backoff = backoff
    }

    /// Up to `limit` due rows, each leased until `now + lease`, in the table's order.
    public func claim(limit: Int, now: Date) async throws -> [any SQLRow] {
        let (time, until) = (Timestamp.format(now), Timestamp.format(now.addingTimeInterval(lease.inSeconds)))
        let (table, skipLocked) = (self.table, database.dialect.skipLocked)
        // One statement, its own transaction: the claim and the lease commit at once.
        return try await database.withConnection { db in
            try await db.raw("""
                UPDATE \(table.name) SET \(table.lease) = \(bind: until), attempts = attempts + 1
                WHERE id IN (
                    SELECT id FROM \(table.name)
                    WHERE \(table.waiting) AND next_attempt_at <= \(bind: time) AND (\(table.lease) IS NULL OR \(table.lease) <= \(bind: time))
                    ORDER BY \(table.order) LIMIT \(bind: limit)\(skipLocked)
                )
                RETURNING \(table.returning)
                """).all()
        }
    }

    /// Marks rows done: `assignments` (what done means in this table) and the lease dropped.
    public func finish(_ ids: [String], set assignments: SQLQueryString) async throws {
        guard !ids.isEmpty else { return }
        let table = self.table
        try await database.withConnection { db in
            try await db.raw("UPDATE \(table.name) SET \(assignments), \(table.lease) = NULL WHERE id IN (\(binds: ids))").run()
        }
    }

    /// Rows due again after the backoff for `attempts`, with why; returns when.
    @discardableResult
    public func retry(_ ids: [String], afterAttempts attempts: Int, error: String, now: Date) async throws -> Date {
        let next = now.addingTimeInterval(backoff.delay(afterAttempts: attempts).inSeconds)
        guard !ids.isEmpty else { return next }
        let (table, at) = (self.table, Timestamp.format(next))
        try await database.withConnection { db in
            try await db.raw("""
                UPDATE \(table.name) SET \(table.lease) = NULL, next_attempt_at = \(bind: at), last_error = \(bind: String(error.prefix(1000)))
                WHERE id IN (\(binds: ids)) AND \(table.waiting)
                """).run()
        }
        return next
    }

    /// A row refused for good: `assignments` (what given up means here), with why; kept.
    public func giveUp(_ id: String, set assignments: SQLQueryString, error: String) async throws {
        let table = self.table
        try await database.withConnection { db in
            try await db.raw("""
                UPDATE \(table.name) SET \(assignments), \(table.lease) = NULL, last_error = \(bind: String(error.prefix(1000)))
                WHERE id = \(bind: id) AND \(table.waiting)
                """).run()
        }
    }

    /// How a worker works the queue until graceful shutdown: claims up to `batchSize` due rows,
    /// hands them to `handle`, and claims the next batch while up to `inFlight` are being handled.
    /// A full claim means a backlog: the next is claimed as soon as a slot is free. Otherwise the
    /// worker has caught up: it lets what is in flight finish, then waits for `signal` (or
    /// `pollInterval`), so rows committed meanwhile go out together rather than one by one.
    /// `gauges` runs at most every `gaugeInterval`.
    public func work(
        batchSize: Int, inFlight: Int, pollInterval: Duration, signal: QueueSignal, clock: any StoreClock, metrics: ServiceMetrics, logger: Logger,
        gaugeInterval: Duration = .seconds(1), gauges: @escaping @Sendable () async throws -> Void = {},
        handle: @escaping @Sendable ([any SQLRow], Date) async throws -> Void
    ) async {
        let slots = AsyncSemaphore(permits: inFlight)
        var gaugedAt = ContinuousClock.now - .seconds(3600)
        // Leaving the group waits for the batches still being handled.
        await withDiscardingTaskGroup { batches in
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                await slots.acquire()
                var claimed: [any SQLRow] = []
                do {
                    claimed = try await claim(limit: batchSize, now: clock.now())
                    if ContinuousClock.now - gaugedAt >= gaugeInterval {
                        try await gauges()
                        gaugedAt = .now
                    }
                } catch {
                    logger.error("queue claim failed", metadata: ["queue": .string(table.label), "error": "\(error)"])
                    UnknownStoredValue.record(error, metrics: metrics, logger: logger)
                }
                if claimed.isEmpty {
                    slots.release()
                } else {
                    batches.addTask { [claimed] in
                        defer { slots.release() }
                        do {
                            try await handle(claimed, clock.now())
                        } catch {
                            logger.error("queue batch failed", metadata: ["queue": .string(table.label), "error": "\(error)"])
                            UnknownStoredValue.record(error, metrics: metrics, logger: logger)
                        }
                    }
                }
                if claimed.count < batchSize {
                    await slots.waitUntilAllFree()
                    await cancelWhenGracefulShutdown { await signal.wait(timeout: pollInterval) }
                }
            }
        }
    }
}

/// How long a failed row waits: `initial * 2^(attempts-1)`, at most `maximum`, times a random
/// factor in `jitter`, so that many rows that failed together do not all come back at once.
public struct Backoff: Sendable, Equatable {
    public var initial: Duration
    public var maximum: Duration
    public var jitter: ClosedRange<Double>

    public init(initial: Duration, maximum: Duration, jitter: ClosedRange<Double>) {
        self.initial = initial
        self.maximum = maximum
        self.jitter = jitter
    }

    public func delay(afterAttempts attempts: Int) -> Duration {
        let exponent = min(max(attempts - 1, 0), 20)
        let base = min(initial.inSeconds * pow(2, Double(exponent)), maximum.inSeconds)
        return .milliseconds(Int(base * Double.random(in: jitter) * 1000))
    }
}

/// Wakes a queue's worker as soon as a transaction that added work commits, so delivery does not
/// wait for the next poll. In-process only: replicas fall back to polling each other's rows.
public final class QueueSignal: Sendable {
    private let state = Mutex<(pending: Bool, waiter: CheckedContinuation<Void, Never>?)>((false, nil))

    public init() {}

    /// Call after the commit.
    public func notify() {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiter {
                state.waiter = nil
                return waiter
            }
            state.pending = true
            return nil
        }
        waiter?.resume()
    }

    /// Returns at the next `notify` (or at once if one came since the last wait), or after
    /// `timeout`. One waiter at a time (a worker, or one live stream).
    public func wait(timeout: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            group.addTask {
                await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
                    let resumeNow = self.state.withLock { state -> Bool in
                        if state.pending {
                            state.pending = false
                            return true
                        }
                        state.waiter?.resume()
                        state.waiter = continuation
                        return false
                    }
                    if resumeNow { continuation.resume() }
                }
            }
            group.addTask {
                try? await Task.sleep(for: timeout)
            }
            await group.next()
            group.cancelAll()
            // Whichever finished first, release a continuation still parked so its task can end.
            let parked = self.state.withLock { state -> CheckedContinuation<Void, Never>? in
                defer { state.waiter = nil }
                return state.waiter
            }
            parked?.resume()
        }
    }
}
