import Foundation
import Logging
import Observability
import Persistence
import SQLKit
import ServiceLifecycle
import CoreMetrics

/// Delivers a batch of outbox messages to their destination; throws unless the destination
/// acknowledged all of them (a 2xx).
public protocol OutboxTransport: Sendable {
    func deliver(_ messages: [OutboxMessage], to destination: String) async throws
}

/// Tuning for the relay. The defaults suit production; tests shorten them.
public struct OutboxRelayConfig: Sendable {
    /// Rows claimed and sent per round.
    public var batchSize = 100
    /// How long a claim lasts: a relay that dies holding rows gives them back after this.
    public var lease: Duration = .seconds(30)
    /// The fallback when no commit signal arrives (another replica's rows, retries coming due).
    public var pollInterval: Duration = .seconds(1)
    /// The first retry waits about this long; each failure doubles it, up to `maximumBackoff`.
    public var initialBackoff: Duration = .milliseconds(500)
    public var maximumBackoff: Duration = .seconds(60)

    public init() {}

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
/// (`outbox_oldest_pending_seconds`), it is never dropped. Replicas share the table: on
/// PostgreSQL claims use `FOR UPDATE SKIP LOCKED`, so two relays never claim the same row while
/// its lease runs.
public struct OutboxRelay: Service {
    let database: any DatabaseClient
    let transport: any OutboxTransport
    let signal: OutboxSignal
    let config: OutboxRelayConfig
    let metrics: ServiceMetrics
    let logger: Logger

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
    }

    public func run() async throws {
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            var delivered = 0
            do {
                delivered = try await relayOnce()
                try await recordBacklog()
            } catch {
                logger.error("outbox relay round failed", metadata: ["error": "\(error)"])
            }
            // A full batch means more may be due right away.
            if delivered < config.batchSize {
                await cancelWhenGracefulShutdown { await signal.wait(timeout: config.pollInterval) }
            }
        }
    }

    /// One round: claim what is due, deliver it per destination, record the outcome. Returns the
    /// number of rows delivered.
    @discardableResult
    public func relayOnce(now: Date = Date()) async throws -> Int {
        let claimed = try await claim(now: now)
        guard !claimed.isEmpty else { return 0 }
        var delivered = 0
        for (destination, messages) in Dictionary(grouping: claimed, by: \.destination) {
            metrics.counter("outbox_delivery_attempts_total", [("destination", destination)]).increment(by: messages.count)
            do {
                try await transport.deliver(messages, to: destination)
                try await markDelivered(messages.map(\.id))
                metrics.counter("outbox_delivered_total", [("destination", destination)]).increment(by: messages.count)
                delivered += messages.count
            } catch {
                metrics.counter("outbox_delivery_failures_total", [("destination", destination)]).increment(by: messages.count)
                logger.warning("outbox delivery failed; will retry", metadata: [
                    "destination": .string(destination), "messages": .stringConvertible(messages.count), "error": "\(error)",
                ])
                try await scheduleRetry(messages, error: "\(error)", now: now)
            }
        }
        return delivered
    }

    func claim(now: Date) async throws -> [OutboxMessage] {
        let nowText = Timestamp.format(now)
        let leaseUntil = Timestamp.format(now.addingTimeInterval(config.lease.inSeconds))
        let lock: SQLQueryString = database.kind == .postgres ? " FOR UPDATE SKIP LOCKED" : ""
        let limit = config.batchSize
        return try await database.transaction { db in
            try await db.raw("""
                UPDATE outbox SET claimed_until = \(bind: leaseUntil), attempts = attempts + 1
                WHERE id IN (
                    SELECT id FROM outbox
                    WHERE delivered_at IS NULL AND next_attempt_at <= \(bind: nowText)
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

    /// `outbox_pending_rows` and `outbox_oldest_pending_seconds`.
    func recordBacklog(now: Date = Date()) async throws {
        let (count, oldest) = try await database.withConnection { db in
            let row = try await db.raw("SELECT COUNT(*) AS pending, MIN(created_at) AS oldest FROM outbox WHERE delivered_at IS NULL").first()
            let count = try row?.decode(column: "pending", as: Int.self) ?? 0
            let oldest = try row?.decode(column: "oldest", as: String?.self)
            return (count, oldest)
        }
        metrics.gauge("outbox_pending_rows").record(count)
        let age = oldest.flatMap(Timestamp.parse).map { max(0, now.timeIntervalSince($0)) } ?? 0
        metrics.gauge("outbox_oldest_pending_seconds").record(age)
    }
}
