import Events
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
    /// A live stand-in for campaign-service's ingestion route: checks the signature, records the
    /// events, and fails while `failing` is set.
    func withDestination(_ test: @escaping @Sendable (String, DestinationState) async throws -> Void) async throws {
        let state = DestinationState()
        let scheme = SignatureScheme(secret: "relay-secret")
        let router = Router()
        router.post("/campaigns/events") { request, _ -> Response in
            let body = try await request.body.collect(upTo: 1 << 20)
            guard (try? scheme.verify(header: request.headers[HTTPField.Name("X-CareForAll-Signature")!], body: body.readableBytesView)) != nil else {
                return Response(status: .unauthorized)
            }
            if state.withLock({ $0.failing }) { return Response(status: .internalServerError) }
            let batch = try JSONDecoder().decode([String: [EventEnvelope]].self, from: Data(buffer: body))
            state.withLock { $0.events += (batch["events"] ?? []).map(\.eventId) }
            return Response(status: .ok)
        }
        let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: TestLogging.logger)
        try await app.test(.live) { client in
            try await test("http://127.0.0.1:\(client.port!)/campaigns/events", state)
        }
    }

    func messages(_ count: Int) throws -> [OutboxMessage] {
        try (0..<count).map { index in
            let envelope = event(index)
            return OutboxMessage(
                id: envelope.eventId, destination: "campaign-events", eventType: envelope.type.rawValue,
                payload: String(decoding: try JSONEncoder().encode(envelope), as: UTF8.self), traceParent: nil,
                createdAt: Timestamp.now(), attempts: 1
            )
        }
    }

    @Test("a batch arrives signed, as {events: [...]}, and a 2xx counts as delivered")
    func delivers() async throws {
        try await withDestination { url, state in
            let transport = HTTPEventTransport(urls: ["campaign-events": url], signatures: SignatureScheme(secret: "relay-secret"))
            let batch = try messages(3)
            try await transport.deliver(batch, to: "campaign-events")
            #expect(state.withLock { $0.events } == batch.map(\.id))
        }
    }

    @Test("a refusal, a wrong secret or an unknown destination is a failed delivery")
    func failures() async throws {
        try await withDestination { url, state in
            let batch = try messages(1)
            state.withLock { $0.failing = true }
            let transport = HTTPEventTransport(urls: ["campaign-events": url], signatures: SignatureScheme(secret: "relay-secret"))
            await #expect(throws: (any Error).self) { try await transport.deliver(batch, to: "campaign-events") }
            state.withLock { $0.failing = false }
            let wrongSecret = HTTPEventTransport(urls: ["campaign-events": url], signatures: SignatureScheme(secret: "other"))
            await #expect(throws: (any Error).self) { try await wrongSecret.deliver(batch, to: "campaign-events") }
            await #expect(throws: (any Error).self) { try await transport.deliver(batch, to: "nowhere") }
            #expect(state.withLock { $0.events }.isEmpty)
        }
    }
}

final class DestinationState: Sendable {
    private let state = Mutex<(events: [String], failing: Bool)>(([], false))

    func withLock<Result: Sendable>(_ body: (inout (events: [String], failing: Bool)) -> Result) -> Result {
        state.withLock { body(&$0) }
    }
}
