import AsyncHTTPClient
import ServiceClient
import Foundation
import NIOCore
import Signatures
import NIOHTTP1
import NIOFoundationEssentialsCompat

/// Posts a batch as `{"events": [...]}` to the destination's URL, signed with
/// `X-CareForAll-Signature`; anything but a 2xx is a failed delivery.
public struct HTTPEventTransport: OutboxTransport {
    let urls: [String: String]
    let signatures: SignatureScheme
    let client: HTTPClient
    let timeout: TimeAmount

    /// - Parameter urls: destination name to URL (`campaign-events` -> `EVENT_DISPATCH_URL`).
    public init(
        urls: [String: String], signatures: SignatureScheme, client: HTTPClient = .betweenServices, timeout: TimeAmount = .seconds(10)
    ) {
        self.urls = urls
        self.signatures = signatures
        self.client = client
        self.timeout = timeout
    }


    public func deliver(_ messages: [OutboxMessage], to destination: String) async throws {
        guard let url = urls[destination] else { throw TransportError.unknownDestination(destination) }
        // Payloads are stored as the exact JSON to send; the batch only wraps them.
        let body = Data(("{\"events\":[" + messages.map(\.payload).joined(separator: ",") + "]}").utf8)
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: "X-CareForAll-Signature", value: signatures.sign(body: body))
        if let traceParent = messages.first?.traceParent { request.headers.add(name: "traceparent", value: traceParent) }
        request.body = .bytes(ByteBuffer(data: body))
        let response = try await client.execute(request, timeout: timeout)
        let answer = try await response.body.collect(upTo: 1 << 20)
        guard (200..<300).contains(Int(response.status.code)) else {
            throw TransportError.refused(status: Int(response.status.code), body: String(buffer: answer).prefix(200).description)
        }
    }

    enum TransportError: Error {
        case unknownDestination(String)
        case refused(status: Int, body: String)
    }
}
