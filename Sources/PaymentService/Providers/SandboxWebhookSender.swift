import Contracts
import AsyncHTTPClient
import Foundation
import HTTPSupport
import Logging
import NIOCore
import NIOFoundationEssentialsCompat
import ServiceClient
import ServiceLifecycle
import Signatures
import NIOHTTP1
import Metrics
import Observability
import Synchronization

/// Sends the sandbox's webhooks over HTTP to payment-service's own webhook route, signed with a
/// real `Stripe-Signature`, as Stripe does: local runs exercise the same path as production.
///
/// With `chaos`, every event is delivered 2 or 3 times, each copy after a random delay of up to
/// `maximumChaosDelay`, so copies arrive duplicated and out of order. A refused delivery is
/// retried a few times; one that still fails is left to the recovery service, as a webhook
/// Stripe gave up on would be.
public final class SandboxWebhookSender: Service, Sendable {
    let url: String
    let signatures: SignatureScheme
    let chaos: Bool
    let maximumChaosDelay: Duration
    let client: HTTPClient
    let logger: Logger
    let metrics: ServiceMetrics
    private let stream: AsyncStream<Data>
    private let continuation: AsyncStream<Data>.Continuation
    /// Copies queued or on their way (`sandbox_webhooks_pending`): a test of "every chaotic
    /// redelivery has landed" waits for 0 instead of for the longest delay.
    private let pending = Atomic<Int>(0)

    public init(
        url: String, secret: String, chaos: Bool, maximumChaosDelay: Duration = .seconds(3), client: HTTPClient = .betweenServices,
        metrics: ServiceMetrics = ServiceMetrics(), logger: Logger
    ) {
        self.url = url
        self.signatures = .stripe(secret: secret)
        self.chaos = chaos
        self.maximumChaosDelay = maximumChaosDelay
        self.client = client
        self.metrics = metrics
        self.logger = logger
        (stream, continuation) = AsyncStream.makeStream(of: Data.self)
    }

    /// Queues a `type` event about `intent`; returns at once.
    public func send(type: String, intent: ProviderIntent) {
        enqueue(Self.event(type: type, object: SandboxIntentObject(intent: intent)))
    }

    /// Queues a `type` event about the charge of `intent` (`charge.refunded`), with the
    /// cumulative amount refunded so far.
    public func send(type: String, charge intent: ProviderIntent, amountRefunded: Int64) {
        enqueue(Self.event(type: type, object: SandboxChargeObject(intent: intent, amountRefunded: amountRefunded)))
    }

    func enqueue(_ payload: Data) {
        count(+1)
        continuation.yield(payload)
    }

    func count(_ change: Int) {
        let now = pending.add(change, ordering: .relaxed).newValue
        metrics.gauge(.sandboxWebhooksPending).record(now)
    }

    var maximumDelayMilliseconds: Int {
        Int(maximumChaosDelay.inSeconds * 1000)
    }

    /// Deliveries in flight at most; events beyond wait in the queue as bytes, so a burst costs
    /// its payloads' memory, not a task and an HTTP request each.
    static let maximumInFlight = 64

    public func run() async {
        // Shutting down cancels everything at once: deliveries waiting for their delay or retrying
        // (against this service's own server, which has stopped) are dropped, as an unreachable
        // endpoint's would be. Waiting for them held a stop up for over 30 s.
        await cancelWhenGracefulShutdown { await self.deliverQueued() }
    }

    func deliverQueued() async {
        await withTaskGroup(of: Void.self) { group in
            var inFlight = 0
            for await payload in stream {
                let copies = chaos ? Int.random(in: 2...3) : 1
                count(copies - 1)
                for _ in 0..<copies {
                    if inFlight >= Self.maximumInFlight {
                        await group.next()
                        inFlight -= 1
                    }
                    let delay = chaos ? Duration.milliseconds(Int.random(in: 0...maximumDelayMilliseconds)) : .zero
                    group.addTask { await self.deliver(payload, after: delay) }
                    inFlight += 1
                }
            }
        }
    }

    func deliver(_ payload: Data, after delay: Duration) async {
        defer { count(-1) }
        do {
            if delay > .zero { try await Task.sleep(for: delay) }
            for attempt in 1...5 {
                if try await post(payload) { return }
                try await Task.sleep(for: .milliseconds(200 * (1 << attempt)))
            }
            logger.warning("sandbox webhook not delivered; recovery will settle the payment", metadata: ["url": .string(url)])
        } catch {
            // Cancelled by shutdown.
        }
    }

    /// True on a 2xx. Signed at sending time, so a late copy carries a fresh timestamp.
    func post(_ payload: Data) async throws -> Bool {
        do {
            let (status, _) = try await client.postSigned(payload, to: url, signatures: signatures, header: "Stripe-Signature", timeout: .seconds(10))
            return (200..<300).contains(status)
        } catch is CancellationError {
            throw CancellationError()
        } catch {
            return false
        }
    }

    /// A Stripe event object: `{id, object: "event", type, created, livemode, data: {object}}`.
    static func event(type: String, object: some Encodable & Sendable) -> Data {
        let event = SandboxEvent(
            id: "evt_sandbox_" + SandboxProvider.randomToken(12), type: type, created: Int(Date().timeIntervalSince1970), object: object
        )
        return (try? WireCoding.encoder.encode(event)) ?? Data()
    }
}

/// The sandbox's webhook body, shaped as Stripe's event.
struct SandboxEvent<Object: Encodable & Sendable>: Encodable {
    struct Payload: Encodable {
        let object: Object
    }

    let id: String
    let object = "event"
    let type: String
    let created: Int
    let livemode = false
    let data: Payload

    init(id: String, type: String, created: Int, object: Object) {
        self.id = id
        self.type = type
        self.created = created
        self.data = Payload(object: object)
    }
}

/// A PaymentIntent as Stripe puts it in an event.
struct SandboxIntentObject: Encodable, Sendable {
    let intent: ProviderIntent

    enum CodingKeys: String, CodingKey {
        case id, object, amount, currency, status, metadata
        case captureMethod = "capture_method", lastPaymentError = "last_payment_error"
    }

    func encode(to encoder: any Encoder) throws {
        var object = encoder.container(keyedBy: CodingKeys.self)
        try object.encode(intent.id, forKey: .id)
        try object.encode("payment_intent", forKey: .object)
        try object.encode(intent.amount, forKey: .amount)
        try object.encode(intent.currency, forKey: .currency)
        try object.encode(intent.status.rawValue, forKey: .status)
        try object.encode("manual", forKey: .captureMethod)
        try object.encode(intent.pledgeId.map { ["pledge_id": $0] } ?? [:], forKey: .metadata)
        if let reason = intent.failureReason {
            try object.encode(["code": reason, "message": "Your card was declined."], forKey: .lastPaymentError)
        } else {
            try object.encodeNil(forKey: .lastPaymentError)
        }
    }
}

/// The charge of a PaymentIntent as Stripe puts it in a `charge.*` event.
struct SandboxChargeObject: Encodable, Sendable {
    let id: String
    let object = "charge"
    let paymentIntent: String
    let amount: Int64
    let amountRefunded: Int64
    let currency: String
    let refunded: Bool
    let status = "succeeded"

    init(intent: ProviderIntent, amountRefunded: Int64) {
        id = "ch_" + intent.id.replacingOccurrences(of: "pi_", with: "")
        paymentIntent = intent.id
        amount = intent.amount
        self.amountRefunded = amountRefunded
        currency = intent.currency
        refunded = amountRefunded >= intent.amount
    }

    enum CodingKeys: String, CodingKey {
        case id, object, amount, currency, refunded, status
        case paymentIntent = "payment_intent", amountRefunded = "amount_refunded"
    }
}
