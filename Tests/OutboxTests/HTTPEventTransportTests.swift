import Contracts
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Persistence
import Signatures
import Synchronization
import Testing
import TestSupport
@testable import Outbox
import NIOFoundationEssentialsCompat

@Suite("Delivering outbox batches over HTTP")
struct HTTPEventTransportTests {
    /// A live stand-in for campaign-service's ingestion route: checks the v2 signature, refuses
    /// bodies over `limit` with 413 (as the real route does past 1 MiB), rejects events whose id
    /// is in `rejecting`, records the others, and fails with 503 while `failing` is set.
    func withDestination(limit: Int = 1 << 20, _ test: @escaping @Sendable (String, DestinationState) async throws -> Void) async throws {
        let state = DestinationState()
        let scheme = SignatureScheme(secret: "relay-secret")
        let router = Router()
        router.post("/campaigns/events") { request, _ -> Response in
            let body: ByteBuffer
            do {
                body = try await request.body.collect(upTo: limit)
            } catch {
                return Response(status: .contentTooLarge)
            }
            let header = request.headers[HTTPField.Name("X-CareForAll-Signature")!]
            guard (try? scheme.verify(header: header, method: "POST", path: request.uri.path, body: body.readableBytesView)) != nil else {
                return Response(status: .unauthorized)
            }
            if state.withLock({ $0.failing }) { return Response(status: .serviceUnavailable) }
            state.withLock { $0.requests += 1 }
            state.withLock { $0.traceHeaders.append(request.headers[HTTPField.Name("traceparent")!] ?? "") }
            let batch = try JSONDecoder().decode([String: [EventEnvelope]].self, from: Data(buffer: body))
            let rejecting = state.withLock { $0.rejecting }
            var results: [[String: String]] = []
            for event in batch["events"] ?? [] {
                if rejecting.contains(event.eventId) {
                    results.append(["event_id": event.eventId, "result": "rejected", "reason": "unknown campaign"])
                } else {
                    state.withLock { $0.events.append(event.eventId) }
                    results.append(["event_id": event.eventId, "result": "applied"])
                }
            }
            return Response(status: .ok, body: .init(byteBuffer: ByteBuffer(data: try JSONEncoder().encode(["results": results]))))
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: TestLogging.logger)
        try await app.test(.live) { client in
            try await test("http://127.0.0.1:\(client.port!)/campaigns/events", state)
        }
    }

    func messages(_ count: Int, padding: [Int: Int] = [:], traces: [String?] = []) throws -> [OutboxMessage] {
        try (0..<count).map { index in
            var envelope = event(index)
            if let bytes = padding[index], case .paymentCaptured(var captured) = envelope.data {
                // An oversized field makes an oversized event, like the megabyte message of a bad pledge.
                captured.paymentId = PaymentID(String(repeating: "x", count: bytes))
                envelope.data = .paymentCaptured(captured)
            }
            return OutboxMessage(
                id: envelope.eventId, destination: .campaignEvents, eventType: envelope.type.rawValue,
                payload: try WireCoding.text(envelope), traceParent: index < traces.count ? traces[index] : nil,
                createdAt: Timestamp.format(Date()), attempts: 1
            )
        }
    }

    func transport(_ url: String, secret: String = "relay-secret", maximumBatchBytes: Int = 1 << 20) -> HTTPEventTransport {
        HTTPEventTransport(
            endpoints: [.campaignEvents: OutboxEndpoint(url: url, signatures: SignatureScheme(secret: secret))], maximumBatchBytes: maximumBatchBytes
        )
    }

    @Test("a batch arrives signed (v2, for its route), as {events: [...]}, and a 2xx delivers each event")
    func delivers() async throws {
        try await withDestination { url, state in
            let batch = try messages(3)
            let results = try await transport(url).deliver(batch, to: .campaignEvents)
            #expect(state.withLock { $0.events } == batch.map(\.id))
            #expect(results == Dictionary(uniqueKeysWithValues: batch.map { ($0.id, DeliveryResult.delivered) }))
        }
    }

    @Test("a batch's request names a trace only when every event in it shares that trace; each event keeps its own")
    func traceHeader() async throws {
        try await withDestination { url, state in
            let one = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
            let other = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
            _ = try await transport(url).deliver(try messages(2, traces: [one, one]), to: .campaignEvents)
            _ = try await transport(url).deliver(try messages(2, traces: [one, other]), to: .campaignEvents)
            #expect(state.withLock { $0.traceHeaders } == [one, ""])
        }
    }

    @Test("an event the receiver rejects is dead with its reason; the rest of the batch is delivered")
    func rejectedEvent() async throws {
        try await withDestination { url, state in
            let batch = try messages(3)
            state.withLock { $0.rejecting = [batch[1].id] }
            let results = try await transport(url).deliver(batch, to: .campaignEvents)
            #expect(results[batch[0].id] == .delivered)
            #expect(results[batch[1].id] == .dead(reason: "rejected: unknown campaign"))
            #expect(results[batch[2].id] == .delivered)
        }
    }

    @Test("one event too large for the receiver is dead alone: the batch is halved until it stands alone, the others are delivered")
    func oversizedEvent() async throws {
        try await withDestination(limit: 64 * 1024) { url, state in
            let batch = try messages(8, padding: [5: 100 * 1024])
            let results = try await transport(url).deliver(batch, to: .campaignEvents)
            #expect(Set(state.withLock { $0.events }) == Set(batch.enumerated().filter { $0.offset != 5 }.map(\.element.id)))
            guard case .dead(let reason) = results[batch[5].id] else {
                Issue.record("the oversized event should be dead, not \(String(describing: results[batch[5].id]))")
                return
            }
            #expect(reason.hasPrefix("HTTP 413"))
            #expect(results.values.filter { $0 == .delivered }.count == 7)
        }
    }

    @Test("batches are sized to the byte limit: many large events go in several requests, none over it")
    func sizedBatches() {
        let payload = String(repeating: "y", count: 300)
        let messages = (0..<10).map {
            OutboxMessage(id: "m\($0)", destination: .campaignEvents, eventType: "T", payload: payload, traceParent: nil, createdAt: "", attempts: 1)
        }
        let chunks = HTTPEventTransport.chunks(messages, maximumBytes: 1000, maximumCount: 1000)
        #expect(chunks.map(\.count) == [3, 3, 3, 1])
        #expect(HTTPEventTransport.chunks(messages, maximumBytes: 1 << 20, maximumCount: 4).map(\.count) == [4, 4, 2])
        #expect(HTTPEventTransport.chunks([messages[0]], maximumBytes: 10, maximumCount: 10).map(\.count) == [1], "too large alone: sent alone")
    }

    @Test("a receiver that is down, or refuses our signature, is retried; an unknown destination is an error")
    func failures() async throws {
        try await withDestination { url, state in
            let batch = try messages(2)
            state.withLock { $0.failing = true }
            let down = try await transport(url).deliver(batch, to: .campaignEvents)
            #expect(down.values.allSatisfy { if case .retry = $0 { true } else { false } }, "503: retried")
            state.withLock { $0.failing = false }
            let wrongSecret = try await transport(url, secret: "other").deliver(batch, to: .campaignEvents)
            #expect(wrongSecret.values.allSatisfy { if case .retry = $0 { true } else { false } }, "401: retried, never dead")
            await #expect(throws: (any Error).self) { try await transport(url).deliver(batch, to: OutboxDestination(rawValue: "nowhere")) }
            #expect(state.withLock { $0.events }.isEmpty)
        }
    }

    @Test("a receiver that cannot be reached at all: the delivery throws and the relay retries everything")
    func unreachable() async throws {
        let closed = try FreePort.next()
        await #expect(throws: (any Error).self) {
            try await transport("http://127.0.0.1:\(closed)/campaigns/events").deliver(try messages(2), to: .campaignEvents)
        }
    }
}

final class DestinationState: Sendable {
    struct Values {
        var events: [String] = []
        var failing = false
        var rejecting: Set<String> = []
        var requests = 0
        /// The `traceparent` header of each request ("" for none).
        var traceHeaders: [String] = []
    }

    private let state = Mutex(Values())

    func withLock<Result: Sendable>(_ body: (inout Values) -> Result) -> Result {
        state.withLock { body(&$0) }
    }
}
