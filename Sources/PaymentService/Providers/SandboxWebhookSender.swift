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
import Observability

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
    private let stream: AsyncStream<Data>
    private let continuation: AsyncStream<Data>.Continuation

    public init(
        url: String, secret: String, chaos: Bool, maximumChaosDelay: Duration = .seconds(3), client: HTTPClient = .betweenServices,
        logger: Logger
    ) {
        self.url = url
        self.signatures = .stripe(secret: secret)
        self.chaos = chaos
        self.maximumChaosDelay = maximumChaosDelay
        self.client = client
        self.logger = logger
        (stream, continuation) = AsyncStream.makeStream(of: Data.self)
    }

    /// Queues a `type` event about `intent`; returns at once.
    public func send(type: String, intent: ProviderIntent) {
        continuation.yield(Self.event(type: type, intent: intent))
    }

    var maximumDelayMilliseconds: Int {
        Int(maximumChaosDelay.inSeconds * 1000)
    }

    /// Deliveries in flight at most; events beyond wait in the queue as bytes, so a burst costs
    /// its payloads' memory, not a task and an HTTP request each.
    static let maximumInFlight = 64

    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            var inFlight = 0
            for await payload in stream.cancelOnGracefulShutdown() {
                let copies = chaos ? Int.random(in: 2...3) : 1
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
            // Shutting down: deliveries still waiting are dropped, as an unreachable endpoint's would be.
            group.cancelAll()
        }
    }

    func deliver(_ payload: Data, after delay: Duration) async {
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

    /// A Stripe event object: `{id, object: "event", type, created, livemode, data: {object: payment_intent}}`.
    static func event(type: String, intent: ProviderIntent) -> Data {
        let event = SandboxEvent(
            id: "evt_sandbox_" + SandboxProvider.randomToken(12), type: type, created: Int(Date().timeIntervalSince1970), intent: intent
        )
        return (try? PlainJSON.encoder.encode(event)) ?? Data()
    }
}

/// The sandbox's webhook body, shaped as Stripe's event of a PaymentIntent.
struct SandboxEvent: Encodable {
    let id: String
    let type: String
    let created: Int
    let intent: ProviderIntent

    enum CodingKeys: String, CodingKey {
        case id, object, type, created, livemode, data
    }

    enum DataKeys: String, CodingKey {
        case object
    }

    enum IntentKeys: String, CodingKey {
        case id, object, amount, currency, status, metadata
        case captureMethod = "capture_method", lastPaymentError = "last_payment_error"
    }

    func encode(to encoder: any Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        try container.encode(id, forKey: .id)
        try container.encode("event", forKey: .object)
        try container.encode(type, forKey: .type)
        try container.encode(created, forKey: .created)
        try container.encode(false, forKey: .livemode)
        var data = container.nestedContainer(keyedBy: DataKeys.self, forKey: .data)
        var object = data.nestedContainer(keyedBy: IntentKeys.self, forKey: .object)
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
