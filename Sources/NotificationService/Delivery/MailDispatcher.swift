import CoreMetrics
import Foundation
import Logging
import Observability
import Outbox
import Persistence
import ServiceLifecycle
import SMTP

/// How the queue is worked.
public struct MailDispatcherConfig: Sendable {
    /// How often the queue is looked at when nothing wakes the dispatcher.
    public var pollInterval: Duration = .seconds(5)
    public var batchSize = 10
    /// How long a claimed mail is kept from other senders: longer than one SMTP conversation may
    /// take, so a mail is never sent by two at once; a sender that died frees it after this.
    public var lease: TimeInterval = 120
    /// Backoff after a temporary failure: `firstRetry`, doubling, at most `maximumRetry`, with
    /// jitter; retried for as long as it takes.
    public var firstRetry: TimeInterval = 5
    public var maximumRetry: TimeInterval = 900

    public init() {}
}

/// Sends queued mails: each claimed for a lease, handed to the transport, and marked SENT, or
/// queued again with backoff (the server is away, or answered 4xx), or FAILED (a 5xx refusal,
/// kept with its reason). Woken at once when ingestion queues a mail.
///
/// A mail is sent once: the lease keeps every other sender off it while one talks to the server.
/// Only a crash after the server accepted it and before it is marked SENT sends it again, with
/// the same Message-ID, by which receiving servers and clients recognise the copy.
public struct MailDispatcher: Service {
    let store: any NotificationStore
    let transport: any MailTransport
    let from: MailAddress
    let signal: OutboxSignal
    let config: MailDispatcherConfig
    let metrics: ServiceMetrics
    let logger: Logger

    public init(
        store: any NotificationStore, transport: any MailTransport, from: MailAddress, signal: OutboxSignal, config: MailDispatcherConfig = MailDispatcherConfig(),
        metrics: ServiceMetrics, logger: Logger
    ) {
        self.store = store
        self.transport = transport
        self.from = from
        self.signal = signal
        self.config = config
        self.metrics = metrics
        self.logger = logger
    }

    public func run() async throws {
        var gaugesAt = ContinuousClock.now - .seconds(60)
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            var claimed = 0
            do {
                let due = try await store.claimDue(limit: config.batchSize, now: DatabaseClock.now(), lease: config.lease)
                claimed = due.count
                try await send(due)
                // The gauges cost a count of the waiting mail: every few seconds, not every batch.
                if ContinuousClock.now - gaugesAt >= .seconds(5) {
                    try await recordQueue()
                    gaugesAt = .now
                }
            } catch {
                logger.warning("mail queue unavailable; trying again", metadata: ["error": "\(error)"])
            }
            if claimed < config.batchSize {
                await cancelWhenGracefulShutdown { await signal.wait(timeout: config.pollInterval) }
            }
        }
    }

    /// Sends a claimed batch at once (each mail its own SMTP conversation), then marks every mail
    /// that went in one statement; each that did not is queued again or kept as FAILED.
    func send(_ mails: [Mail]) async throws {
        guard !mails.isEmpty else { return }
        let sent = await withTaskGroup(of: (String, String)?.self) { group in
            for mail in mails {
                group.addTask { await self.send(mail) }
            }
            var sent: [(id: String, delivery: String)] = []
            for await result in group {
                if let (id, delivery) = result { sent.append((id, delivery)) }
            }
            return sent
        }
        try await store.markSent(sent, at: Timestamp.now())
    }

    /// Sends one claimed mail, in a span of the trace of the event it was written for; returns its
    /// id and where it went, or nil after recording why not.
    func send(_ mail: Mail) async -> (String, String)? {
        await Trace.span("mail.send \(mail.kind.rawValue)", kind: .client, parent: mail.traceParent) { span in
            span.set("mail_id", mail.id)
            span.set("mail.attempt", mail.attempts)
            let sent = await deliver(mail)
            if sent == nil { span.fail("not sent") }
            return sent
        }
    }

    func deliver(_ mail: Mail) async -> (String, String)? {
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
            try? await store.markFailed(id: mail.id, error: error.description)
            metrics.counter(.mailsFailedTotal, [("kind", mail.kind.rawValue)]).increment()
            logger.error("mail refused for good; kept as FAILED", metadata: ["error": .string(error.description)])
        } catch {
            let wait = Self.backoff(attempt: mail.attempts, config: config)
            try? await store.markRetry(id: mail.id, error: error.description, nextAttempt: Timestamp.format(DatabaseClock.now().addingTimeInterval(wait)))
            metrics.counter(.mailAttemptsFailedTotal, [("kind", mail.kind.rawValue)]).increment()
            logger.warning("mail not sent; queued again", metadata: [
                "error": .string(error.description), "attempt": .stringConvertible(mail.attempts), "retry_in_seconds": .stringConvertible(Int(wait)),
            ])
        }
        return nil
    }

    func recordQueue() async throws {
        let state = try await store.queueState(now: DatabaseClock.now())
        metrics.gauge(.mailQueueSize).record(state.queued)
        metrics.gauge(.mailFailedSize).record(state.failed)
        metrics.gauge(.mailQueueOldestAgeSeconds).record(state.oldestSeconds)
    }

    /// `firstRetry * 2^(attempt - 1)`, at most `maximumRetry`, less up to a fifth at random.
    static func backoff(attempt: Int, config: MailDispatcherConfig) -> TimeInterval {
        let exponent = Double(max(0, min(attempt - 1, 20)))
        let wait = min(config.maximumRetry, config.firstRetry * pow(2, exponent))
        return wait * Double.random(in: 0.8...1.0)
    }
}
