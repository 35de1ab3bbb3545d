import CoreMetrics
import Foundation
import Logging
import Observability
import Outbox
import Persistence
import SMTP
import SQLKit
import ServiceLifecycle

/// How the mail queue is worked.
public struct MailDispatcherConfig: Sendable {
    /// How often the queue is looked at when nothing wakes the dispatcher.
    public var pollInterval: Duration = .seconds(5)
    public var batchSize = 10
    /// How long a claimed mail is kept from other senders: longer than one SMTP conversation may
    /// take, so a mail is never sent by two at once; a sender that died frees it after this.
    public var lease: Duration = .seconds(120)
    /// After a temporary failure: 5 s, doubling, at most 15 minutes, less up to a fifth at
    /// random; retried for as long as it takes.
    public var backoff = Backoff(initial: .seconds(5), maximum: .seconds(900), jitter: 0.8...1.0)

    public init() {}
}

/// Sends the mail queue: a `LeasedQueue` over the `mails` table, like the outbox relay. Each
/// claimed mail is handed to the transport and marked SENT, or queued again with backoff (the
/// server is away, or answered 4xx), or FAILED (a 5xx refusal, kept with its reason). Woken at
/// once when ingestion queues a mail.
///
/// A mail is sent once: the lease keeps every other sender off it while one talks to the server.
/// Only a crash after the server accepted it and before it is marked SENT sends it again, with
/// the same Message-ID, by which receiving servers and clients recognise the copy.
public struct MailDispatcher: Service {
    let queue: LeasedQueue
    let store: any NotificationStore
    let transport: any MailTransport
    let from: MailAddress
    let signal: QueueSignal
    let clock: any StoreClock
    let config: MailDispatcherConfig
    let metrics: ServiceMetrics
    let logger: Logger

    public static let table = LeasedQueue.Table(
        name: "mails", waiting: "status = 'QUEUED'", lease: "locked_until", order: "next_attempt_at", returning: SQLNotificationStore.columns
    )

    public init(
        database: any DatabaseClient, transport: any MailTransport, from: MailAddress, signal: QueueSignal, clock: any StoreClock,
        config: MailDispatcherConfig = MailDispatcherConfig(), metrics: ServiceMetrics, logger: Logger
    ) {
        self.queue = LeasedQueue(database: database, table: Self.table, lease: config.lease, backoff: config.backoff)
        self.store = SQLNotificationStore(database: database)
        self.transport = transport
        self.from = from
        self.signal = signal
        self.clock = clock
        self.config = config
        self.metrics = metrics
        self.logger = logger
    }

    public func run() async throws {
        await queue.work(
            batchSize: config.batchSize, inFlight: 1, pollInterval: config.pollInterval, signal: signal, clock: clock, metrics: metrics, logger: logger,
            gaugeInterval: .seconds(5), gauges: { try await recordQueue() }
        ) { rows, now in
            try await send(try Self.mails(rows), now: now)
        }
    }

    /// One round, for tests: claims what is due and sends it; returns how many were claimed.
    @discardableResult
    public func sendOnce() async throws -> Int {
        let now = clock.now()
        let mails = try Self.mails(try await queue.claim(limit: config.batchSize, now: now))
        try await send(mails, now: now)
        return mails.count
    }

    /// Claimed rows as mails, the longest-waiting first.
    static func mails(_ rows: [any SQLRow]) throws -> [Mail] {
        try rows.map(SQLNotificationStore.mail).sorted { $0.nextAttemptAt < $1.nextAttemptAt }
    }

    /// Sends a claimed batch at once (each mail its own SMTP conversation), then marks every mail
    /// that went in one statement; each that did not is queued again or kept as FAILED.
    func send(_ mails: [Mail], now: Date) async throws {
        guard !mails.isEmpty else { return }
        let sent = await withTaskGroup(of: (String, String)?.self) { group in
            for mail in mails {
                group.addTask { await self.send(mail, now: now) }
            }
            var sent: [(id: String, delivery: String)] = []
            for await result in group {
                if let (id, delivery) = result { sent.append((id, delivery)) }
            }
            return sent
        }
        guard !sent.isEmpty else { return }
        let deliveries = sent.map { "WHEN \(bind: $0.id) THEN \(bind: $0.delivery)" as SQLQueryString }
        try await queue.finish(
            sent.map(\.id), set: "status = 'SENT', delivery = CASE id \(deliveries.joined(separator: " ")) END, sent_at = \(bind: clock.timestamp()), last_error = NULL"
        )
    }

    /// Sends one claimed mail, in a span of the trace of the event it was written for; returns its
    /// id and where it went, or nil after recording why not.
    func send(_ mail: Mail, now: Date) async -> (String, String)? {
        await Trace.span("mail.send \(mail.kind.rawValue)", kind: .client, parent: mail.traceParent) { span in
            span.set("mail_id", mail.id)
            span.set("mail.attempt", mail.attempts)
            let sent = await deliver(mail, now: now)
            if sent == nil { span.fail("not sent") }
            return sent
        }
    }

    func deliver(_ mail: Mail, now: Date) async -> (String, String)? {
        var logger = logger
        logger[metadataKey: "mail_id"] = .string(mail.id)
        logger[metadataKey: "kind"] = .string(mail.kind.rawValue)
        logger[metadataKey: "event_id"] = .string(mail.eventId)
        let message = MailMessage(from: from, to: mail.recipients, subject: mail.subject, text: mail.text, html: mail.html, messageId: mail.messageId)
        let name = mail.createdAt.filter { $0.isNumber } + "-" + mail.kind.rawValue + "-" + mail.id
        do {
            let delivery = try await transport.deliver(message, name: name)
            metrics.counter(.mailsSentTotal, [("kind", mail.kind.rawValue)]).increment()
            logger.info("mail sent", metadata: ["delivery": .string(delivery), "attempt": .stringConvertible(mail.attempts)])
            return (mail.id, delivery)
        } catch where !error.isTemporary {
            try? await queue.giveUp(mail.id, set: "status = 'FAILED'", error: error.description)
            metrics.counter(.mailsFailedTotal, [("kind", mail.kind.rawValue)]).increment()
            logger.error("mail refused for good; kept as FAILED", metadata: ["error": .string(error.description)])
        } catch {
            let next = try? await queue.retry([mail.id], afterAttempts: mail.attempts, error: error.description, now: now)
            metrics.counter(.mailAttemptsFailedTotal, [("kind", mail.kind.rawValue)]).increment()
            logger.warning("mail not sent; queued again", metadata: [
                "error": .string(error.description), "attempt": .stringConvertible(mail.attempts),
                "retry_in_seconds": .stringConvertible(Int(next.map { $0.timeIntervalSince(now) } ?? 0)),
            ])
        }
        return nil
    }

    func recordQueue() async throws {
        let state = try await store.queueState(now: clock.now())
        metrics.gauge(.mailQueueSize).record(state.queued)
        metrics.gauge(.mailFailedSize).record(state.failed)
        metrics.gauge(.mailQueueOldestAgeSeconds).record(state.oldestSeconds)
    }
}
