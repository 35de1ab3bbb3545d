import AsyncHTTPClient
import ServiceClient
import Foundation
import NIOCore
import Signatures
import NIOHTTP1
import NIOFoundationEssentialsCompat

/// Where one outbox destination is delivered, and how.
public struct OutboxEndpoint: Sendable, Equatable {
    public enum Delivery: Sendable, Equatable {
        /// Many messages per request, as `{"events": [...]}` (campaign-service ingestion).
        case batch
        /// One request per message, its payload as the whole body (a webhook taking one notice).
        case oneByOne
    }

    public let url: String
    public let delivery: Delivery

    public static func batch(_ url: String) -> OutboxEndpoint { OutboxEndpoint(url: url, delivery: .batch) }
    public static func oneByOne(_ url: String) -> OutboxEndpoint { OutboxEndpoint(url: url, delivery: .oneByOne) }
}

/// Posts outbox messages to their destination's URL, signed with `X-CareForAll-Signature`;
/// anything but a 2xx is a failed delivery. A batch destination gets `{"events": [...]}`; a
/// one-by-one destination gets each payload alone, in order, stopping at the first refusal (the
/// relay then retries the lot, and the receiver drops what it has already seen by id).
public struct HTTPEventTransport: OutboxTransport {
    let endpoints: [String: OutboxEndpoint]
    let signatures: SignatureScheme
    let client: HTTPClient
    let timeout: TimeAmount

    /// - Parameter endpoints: destination name to endpoint (`campaign-events` -> `EVENT_DISPATCH_URL`, batched).
    public init(
        endpoints: [String: OutboxEndpoint], signatures: SignatureScheme, client: HTTPClient = .betweenServices,
        timeout: TimeAmount = .seconds(10)
    ) {
        self.endpoints = endpoints
        self.signatures = signatures
        self.client = client
        self.timeout = timeout
    }

    /// Every destination batched.
    public init(urls: [String: String], signatures: SignatureScheme, client: HTTPClient = .betweenServices, timeout: TimeAmount = .seconds(10)) {
        self.init(endpoints: urls.mapValues(OutboxEndpoint.batch), signatures: signatures, client: client, timeout: timeout)
    }

    public func deliver(_ messages: [OutboxMessage], to destination: String) async throws {
        guard let endpoint = endpoints[destination] else { throw TransportError.unknownDestination(destination) }
        switch endpoint.delivery {
        case .batch:
            // Payloads are stored as the exact JSON to send; the batch only wraps them.
            let body = "{\"events\":[" + messages.map(\.payload).joined(separator: ",") + "]}"
            try await post(body, traceParent: messages.first?.traceParent, to: endpoint.url)
        case .oneByOne:
            for message in messages {
                try await post(message.payload, traceParent: message.traceParent, to: endpoint.url)
            }
        }
    }

    func post(_ text: String, traceParent: String?, to url: String) async throws {
        let (status, answer) = try await client.postSigned(
            Data(text.utf8), to: url, signatures: signatures, traceParent: traceParent, timeout: timeout
        )
        guard (200..<300).contains(status) else {
            throw TransportError.refused(status: status, body: String(buffer: answer).prefix(200).description)
        }
    }

    enum TransportError: Error {
        case unknownDestination(String)
        case refused(status: Int, body: String)
    }
}
