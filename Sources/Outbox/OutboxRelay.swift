import Foundation
import Logging
import Observability
import Persistence
import SQLKit
import Synchronization
import ServiceLifecycle
import CoreMetrics

/// What became of one message sent to its destination.
public enum DeliveryResult: Sendable, Equatable {
    /// Accepted (applied, a duplicate, or ignored as stale): done.
    case delivered
    /// Refused for good (rejected, malformed, too large): kept as dead, visible, never sent again
    /// on its own.
    case dead(reason: String)
    /// Not delivered for a reason that may pass: sent again after a backoff.
    case retry(reason: String)
}

/// Delivers outbox messages to their destination.
public protocol OutboxTransport: Sendable {
    /// Throws when none could be delivered for a reason that may pass (the destination down, busy
    /// or not accepting our signature): the relay retries them all. Otherwise returns, by message
    /// id, what became of each; a message it does not name is retried.
    func deliver(_ messages: [OutboxMessage], to destination: String) async throws -> [String: DeliveryResult]
}

/// Tuning for the relay. The defaults suit production; tests shorten them.
public struct OutboxRelayConfig: Sendable {
    /// Rows claimed and sent per round (a batch destination gets them in requests of at most
    /// 1,000 events and 1 MiB).
    public var batchSize = 500
    /// Batches being delivered at once by one relay while there is a backlog (its claims come
    /// back full): while one waits for its destination's answer, the next is claimed and sent.
    /// Consumers apply events in any order, so batches need not finish in claim order.
    public var batchesInFlight = 3
    /// How long a claim lasts: a relay that dies holding rows gives them back after this.
    public var lease: Duration = .seconds(30)
    /// The fallback when no commit signal arrives (another replica's rows, retries coming due).
    public var pollInterval: Duration = .seconds(1)
    /// The first retry waits about this long; each failure doubles it, up to `maximumBackoff`.
    public var initialBackoff: Duration = .milliseconds(500)
    public var maximumBackoff: Duration = .seconds(60)
    /// Chaos testing only (`OUTBOX_RELAY_EXIT_AFTER_DELIVERIES`, scripts/chaos): the process exits
    /// right after its n-th delivered batch, before the relay records the delivery, as a crash at
    /// that worst moment would. The rows go out again once their lease ends; consumers drop the
    /// copies. Nil (never) unless set.
    public var exitAfterDeliveries: Int?

    public init(exitAfterDeliveries: Int? = nil) {
        self.exitAfterDeliveries = exitAfterDeliveries
    }

    /// `initialBackoff * 2^(attempts-1)`, capped, times a random 0.5...1.0 so that many rows that
    /// failed together do not all come back at once.
    public func backoff(afterAttempts attempts: Int) -> Duration {
        let exponent = min(max(attempts - 1, 0), 20)
        let base = min(initialBackoff.inSeconds * pow(2, Double(exponent)), maximumBackoff.inSeconds)
        return .milliseconds(Int(base * Double.random(in: 0.5...1.0) * 1000))
    }
}

/// Claims due outbox rows, delivers them, and marks them delivered; a failed delivery is retried
/// with capped exponential backoff and jitter, forever: a stuck row shows in the metrics
/// (`outbox_oldest_pending_seconds`), it is never dropped. A row its destination refuses for good
/// is dead (`dead_at`, with the reason in `last_error`): kept and counted (`outbox_dead_rows`),
/// and it never holds back the rows claimed with it. Replicas share the table: on
/// PostgreSQL claims use `FOR UPDATE SKIP LOCKED`, so two relays never claim the same row while
/// its lease runs.
public struct OutboxRelay: Service {
    let database: any DatabaseClient
    let transport: any OutboxTransport
    let signal: OutboxSignal
    let config: OutboxRelayConfig
    let metrics: ServiceMetrics
    let logger: Logger
    /// Deliveries left before the chaos exit (`OutboxRelayConfig.exitAfterDeliveries`).
    let deliveriesBeforeExit: Countdown?

    public init(
        database: any DatabaseClient, transport: any OutboxTransport, signal: OutboxSignal,
        config: OutboxRelayConfig = OutboxRelayConfig(), metrics: ServiceMetrics, logger: Logger
    ) {
        self.database = database
        self.transport = transport
        self.signal = signal
        self.config = config
        self.metrics = metrics
        self.logger = logger
        self.deliveriesBeforeExit = config.exitAfterDeliveries.map(Countdown.init)
    }

    public func run() async throws {
        let slots = AsyncSemaphore(permits: config.batchesInFlight)
        var lastBacklog = ContinuousClock.now - .seconds(60)
        // Leaving the group waits for the batches still being delivered.
        await withDiscardingTaskGroup { batches in
            while !Task.isCancelled && !Task.isShuttingDownGracefully {
                await slots.acquire()
                var claimed: [OutboxMessage] = []
                do {
                    claimed = try await claim(now: DatabaseClock.now())
                    // The backlog gauges scan the pending rows: once a second is enough for them.
                    if ContinuousClock.now - lastBacklog >= .seconds(1) {
                        try await recordBacklog()
                        lastBacklog = .now
                    }
                } catch {
                    logger.error("outbox relay claim failed", metadata: ["error": "\(error)"])
                }
                if claimed.isEmpty {
                    slots.release()
                } else {
                    batches.addTask { [claimed] in
                        defer { slots.release() }
                        do {
                            _ = try await relay(claimed, now: DatabaseClock.now())
                        } catch {
                            logger.error("outbox relay round failed", metadata: ["error": "\(error)"])
                        }
                    }
                }
                // A full claim means a backlog: claim the next batch as soon as a slot is free.
                // Otherwise the relay has caught up: it lets the batches in flight finish before
                // it claims again, so the rows committed meanwhile go out together instead of in
                // many small batches that each cost the destination a request and a commit.
                if claimed.count < config.batchSize {
                    await slots.waitUntilAllFree()
                    await cancelWhenGracefulShutdown { await signal.wait(timeout: config.pollInterval) }
                }
            }
        }
    }

    /// One round: claim what is due, deliver it per destination, record the outcome. Returns the
    /// number of rows delivered.
    @discardableResult
    public func relayOnce(now: Date = DatabaseClock.now()) async throws -> Int {
        try await relay(try await claim(now: now), now: now)
    }

    /// Delivers claimed rows, every destination at once; returns how many were delivered.
    func relay(_ claimed: [OutboxMessage], now: Date) async throws -> Int {
        guard !claimed.isEmpty else { return 0 }
        return try await withThrowingTaskGroup(of: Int.self) { group in
            for (destination, messages) in Dictionary(grouping: claimed, by: \.destination) {
                group.addTask {
                    // A batch of one trace is part of it; a batch of many starts its own and links to each.
                    let traces = Set(messages.compactMap(\.traceParent))
                    return try await Trace.span(
                        "outbox.deliver \(destination)", kind: .producer, parent: traces.count == 1 ? traces.first : nil,
                        links: traces.count > 1 ? Array(traces.prefix(128)) : []
                    ) { span in
                        span.set("messaging.destination.name", destination)
                        span.set("messaging.batch.message_count", messages.count)
                        metrics.counter(.outboxDeliveryAttemptsTotal, [("destination", destination)]).increment(by: messages.count)
                        var results: [String: DeliveryResult]
                        do {
                            results = try await transport.deliver(messages, to: destination)
                        } catch {
                            results = Dictionary(uniqueKeysWithValues: messages.map { ($0.id, .retry(reason: "\(error)")) })
                        }
                        if let deliveriesBeforeExit, results.values.contains(.delivered),
                           deliveriesBeforeExit.tick() {
                            logger.critical("chaos: exiting between delivery and marking", metadata: ["destination": .string(destination)])
                            // At once, as a crash would: no exit handlers, nothing else finishes.
                            fflush(nil)
                            _exit(86)
                        }
                        let delivered = try await settle(messages, results: results, destination: destination, now: now)
                        span.set("outbox.delivered", delivered)
                        if delivered < messages.count { span.fail("\(messages.count - delivered) not delivered") }
                        return delivered
                    }
                }
            }
            return try await group.reduce(0, +)
        }
    }

    /// Records each message's result; returns how many were delivered.
    func settle(_ messages: [OutboxMessage], results: [String: DeliveryResult], destination: String, now: Date) async throws -> Int {
        var delivered: [String] = []
        var dead: [(OutboxMessage, String)] = []
        var retry: [OutboxMessage] = []
        var retryReason = "no answer for this message"
        for message in messages {
            switch results[message.id] ?? .retry(reason: retryReason) {
            case .delivered: delivered.append(message.id)
            case .dead(let reason): dead.append((message, reason))
            case .retry(let reason):
                retry.append(message)
                retryReason = reason
            }
        }
        if !delivered.isEmpty {
            try await markDelivered(delivered)
            metrics.counter(.outboxDeliveredTotal, [("destination", destination)]).increment(by: delivered.count)
        }
        for (message, reason) in dead {
            try await markDead(message.id, reason: reason, now: now)
            metrics.counter(.outboxDeadTotal, [("destination", destination)]).increment()
            logger.error("outbox message refused for good; kept as dead", metadata: [
                "destination": .string(destination), "event_id": .string(message.id), "event_type": .string(message.eventType),
                "reason": .string(String(reason.prefix(300))),
            ])
        }
        if !retry.isEmpty {
            metrics.counter(.outboxDeliveryFailuresTotal, [("destination", destination)]).increment(by: retry.count)
            logger.warning("outbox delivery failed; will retry", metadata: [
                "destination": .string(destination), "messages": .stringConvertible(retry.count), "error": .string(String(retryReason.prefix(300))),
            ])
            try await scheduleRetry(retry, error: retryReason, now: now)
        }
        return delivered.count
    }

    func claim(now: Date) async throws -> [OutboxMessage] {
        let nowText = Timestamp.format(now)
        let leaseUntil = Timestamp.format(now.addingTimeInterval(config.lease.inSeconds))
        let lock: SQLQueryString = database.kind == .postgres ? " FOR UPDATE SKIP LOCKED" : ""
        let limit = config.batchSize
        // One statement, its own transaction: the claim and the lease commit at once.
        return try await database.withConnection { db in
            try await db.raw("""
                UPDATE outbox SET claimed_until = \(bind: leaseUntil), attempts = attempts + 1
                WHERE id IN (
                    SELECT id FROM outbox
                    WHERE delivered_at IS NULL AND dead_at IS NULL AND next_attempt_at <= \(bind: nowText)
                      AND (claimed_until IS NULL OR claimed_until <= \(bind: nowText))
                    ORDER BY created_at, id LIMIT \(bind: limit)\(lock)
                )
                RETURNING id, destination, event_type, payload, trace_parent, created_at, attempts
                """).all().map { row in
                OutboxMessage(
                    id: try row.decode(column: "id", as: String.self),
                    destination: try row.decode(column: "destination", as: String.self),
                    eventType: try row.decode(column: "event_type", as: String.self),
                    payload: try row.decode(column: "payload", as: String.self),
                    traceParent: try row.decode(column: "trace_parent", as: String?.self),
                    createdAt: try row.decode(column: "created_at", as: String.self),
                    attempts: try row.decode(column: "attempts", as: Int.self)
                )
            }
            .sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
        }
    }

    func markDelivered(_ ids: [String]) async throws {
        let now = Timestamp.now()
        try await database.withConnection { db in
            try await db.raw("UPDATE outbox SET delivered_at = \(bind: now), claimed_until = NULL, last_error = NULL WHERE id IN (\(binds: ids))").run()
        }
    }

    func markDead(_ id: String, reason: String, now: Date) async throws {
        let at = Timestamp.format(now)
        try await database.withConnection { db in
            try await db.raw("""
                UPDATE outbox SET dead_at = \(bind: at), claimed_until = NULL, last_error = \(bind: String(reason.prefix(500)))
                WHERE id = \(bind: id)
                """).run()
        }
    }

    func scheduleRetry(_ messages: [OutboxMessage], error: String, now: Date) async throws {
        // Rows of one batch share their attempt count closely; back off by the largest.
        let attempts = messages.map(\.attempts).max() ?? 1
        let next = Timestamp.format(now.addingTimeInterval(backoff(afterAttempts: attempts).inSeconds))
        let ids = messages.map(\.id)
        try await database.withConnection { db in
            try await db.raw("""
                UPDATE outbox SET claimed_until = NULL, next_attempt_at = \(bind: next), last_error = \(bind: String(error.prefix(500)))
                WHERE id IN (\(binds: ids))
                """).run()
        }
    }

    func backoff(afterAttempts attempts: Int) -> Duration {
        config.backoff(afterAttempts: attempts)
    }

    /// `outbox_pending_rows`, `outbox_oldest_pending_seconds` and `outbox_dead_rows`.
    func recordBacklog(now: Date = DatabaseClock.now()) async throws {
        let (count, oldest, dead) = try await database.withConnection { db in
            let row = try await db.raw("""
                SELECT COUNT(*) AS pending, MIN(created_at) AS oldest FROM outbox WHERE delivered_at IS NULL AND dead_at IS NULL
                """).first()
            let count = try row?.decode(column: "pending", as: Int.self) ?? 0
            let oldest = try row?.decode(column: "oldest", as: String?.self)
            let dead = try await db.raw("SELECT COUNT(*) AS dead FROM outbox WHERE dead_at IS NOT NULL").first()?.decode(column: "dead", as: Int.self) ?? 0
            return (count, oldest, dead)
        }
        metrics.gauge(.outboxPendingRows).record(count)
        metrics.gauge(.outboxDeadRows).record(dead)
        let age = oldest.flatMap(Timestamp.parse).map { max(0, now.timeIntervalSince($0)) } ?? 0
        metrics.gauge(.outboxOldestPendingSeconds).record(age)
    }
}

/// Counts down from `start`; `tick()` is true once, when it reaches zero.
final class Countdown: Sendable {
    private let left: Atomic<Int>

    init(_ start: Int) {
        left = Atomic(start)
    }

    func tick() -> Bool {
        left.subtract(1, ordering: .relaxed).newValue == 0
    }
}
