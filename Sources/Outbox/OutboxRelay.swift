import Contracts
import Foundation
import Logging
import Observability
import Persistence
import SQLKit
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
    func deliver(_ messages: [OutboxMessage], to destination: OutboxDestination) async throws -> [String: DeliveryResult]
}

/// A hook the relay calls between a delivery and its recording, the worst moment to crash: the
/// chaos suite installs one that ends the process there (`FaultInjection`). Production has none.
public protocol DeliveryFaults: Sendable {
    func delivered(to destination: OutboxDestination, logger: Logger)
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
    /// The first retry waits about 0.5 s; each failure doubles it, up to a minute.
    public var backoff = Backoff(initial: .milliseconds(500), maximum: .seconds(60), jitter: 0.5...1.0)

    public init() {}
}

/// Delivers the outbox: a `LeasedQueue` over the `outbox` table. Due rows are claimed, delivered
/// per destination, and marked delivered; a failed delivery is retried with capped exponential
/// backoff and jitter, forever: a stuck row shows in the metrics (`outbox_oldest_pending_seconds`),
/// it is never dropped. A row its destination refuses for good is dead (`dead_at`, with the reason
/// in `last_error`): kept and counted (`outbox_dead_rows`), and it never holds back the rows
/// claimed with it.
public struct OutboxRelay: Service {
    let queue: LeasedQueue
    let transport: any OutboxTransport
    let signal: QueueSignal
    let clock: any StoreClock
    let config: OutboxRelayConfig
    let metrics: ServiceMetrics
    let logger: Logger
    let faults: (any DeliveryFaults)?

    public static let table = LeasedQueue.Table(
        name: "outbox", waiting: "delivered_at IS NULL AND dead_at IS NULL", lease: "claimed_until", order: "created_at, id",
        returning: "id, destination, event_type, payload, trace_parent, created_at, attempts"
    )

    public init(
        database: any DatabaseClient, transport: any OutboxTransport, signal: QueueSignal, clock: any StoreClock,
        config: OutboxRelayConfig = OutboxRelayConfig(), metrics: ServiceMetrics, logger: Logger, faults: (any DeliveryFaults)? = nil
    ) {
        self.queue = LeasedQueue(database: database, table: Self.table, lease: config.lease, backoff: config.backoff)
        self.transport = transport
        self.signal = signal
        self.clock = clock
        self.config = config
        self.metrics = metrics
        self.logger = logger
        self.faults = faults
    }

    public func run() async throws {
        await queue.work(
            batchSize: config.batchSize, inFlight: config.batchesInFlight, pollInterval: config.pollInterval, signal: signal, clock: clock,
            metrics: metrics, logger: logger, gauges: { try await recordBacklog() }
        ) { rows, now in
            _ = try await relay(try Self.messages(rows), now: now)
        }
    }

    /// One round: claim what is due, deliver it per destination, record the outcome. Returns the
    /// number of rows delivered.
    @discardableResult
    public func relayOnce() async throws -> Int {
        let now = clock.now()
        return try await relay(try await claim(now: now), now: now)
    }

    /// Claims up to a batch of due rows for this relay's lease (what a round does first).
    public func claim(now: Date) async throws -> [OutboxMessage] {
        try Self.messages(try await queue.claim(limit: config.batchSize, now: now))
    }

    /// Claimed rows as messages, oldest first (a claim's `RETURNING` keeps no order).
    static func messages(_ rows: [any SQLRow]) throws -> [OutboxMessage] {
        try rows.map(message).sorted { ($0.createdAt, $0.id) < ($1.createdAt, $1.id) }
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
                        span.set("messaging.destination.name", destination.rawValue)
                        span.set("messaging.batch.message_count", messages.count)
                        metrics.counter(.outboxDeliveryAttemptsTotal, [("destination", destination.rawValue)]).increment(by: messages.count)
                        var results: [String: DeliveryResult]
                        do {
                            results = try await transport.deliver(messages, to: destination)
                        } catch {
                            results = Dictionary(uniqueKeysWithValues: messages.map { ($0.id, .retry(reason: "\(error)")) })
                        }
                        if let faults, results.values.contains(.delivered) { faults.delivered(to: destination, logger: logger) }
                        let delivered = try await record(messages, results: results, destination: destination, now: now)
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
    func record(_ messages: [OutboxMessage], results: [String: DeliveryResult], destination: OutboxDestination, now: Date) async throws -> Int {
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
        let label = [("destination", destination.rawValue)]
        if !delivered.isEmpty {
            try await queue.finish(delivered, set: "delivered_at = \(bind: clock.timestamp()), last_error = NULL")
            metrics.counter(.outboxDeliveredTotal, label).increment(by: delivered.count)
        }
        for (message, reason) in dead {
            try await queue.giveUp(message.id, set: "dead_at = \(bind: Timestamp.format(now))", error: reason)
            metrics.counter(.outboxDeadTotal, label).increment()
            logger.error("outbox message refused for good; kept as dead", metadata: [
                "destination": .string(destination.rawValue), "event_id": .string(message.id), "event_type": .string(message.eventType),
                "reason": .string(String(reason.prefix(300))),
            ])
        }
        if !retry.isEmpty {
            metrics.counter(.outboxDeliveryFailuresTotal, label).increment(by: retry.count)
            logger.warning("outbox delivery failed; will retry", metadata: [
                "destination": .string(destination.rawValue), "messages": .stringConvertible(retry.count),
                "error": .string(String(retryReason.prefix(300))),
            ])
            // Rows of one batch share their attempt count closely; back off by the largest.
            try await queue.retry(retry.map(\.id), afterAttempts: retry.map(\.attempts).max() ?? 1, error: retryReason, now: now)
        }
        return delivered.count
    }

    static func message(_ row: any SQLRow) throws -> OutboxMessage {
        OutboxMessage(
            id: try row.decode(column: "id", as: String.self),
            destination: OutboxDestination(rawValue: try row.decode(column: "destination", as: String.self)),
            eventType: try row.decode(column: "event_type", as: String.self),
            payload: try row.decode(column: "payload", as: String.self),
            traceParent: try row.decode(column: "trace_parent", as: String?.self),
            createdAt: try row.decode(column: "created_at", as: String.self),
            attempts: try row.decode(column: "attempts", as: Int.self)
        )
    }

    /// `outbox_pending_rows`, `outbox_oldest_pending_seconds` and `outbox_dead_rows`.
    func recordBacklog() async throws {
        let now = clock.now()
        let (count, oldest, dead) = try await queue.database.withConnection { db in
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
