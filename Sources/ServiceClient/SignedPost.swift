import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationEssentialsCompat
import NIOHTTP1
import Signatures

extension HTTPClient {
    /// Posts `body` as JSON with its signature in `header` (`X-CareForAll-Signature` between
    /// services; `Stripe-Signature` for the sandbox's webhooks), signed at sending time, and the
    /// trace context if given. Returns the status and up to 1 MiB of the answer.
    public func postSigned(
        _ body: Data, to url: String, signatures: SignatureScheme, header: String = "X-CareForAll-Signature",
        traceParent: String? = nil, timeout: TimeAmount
    ) async throws -> (status: Int, body: ByteBuffer) {
        var request = HTTPClientRequest(url: url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json")
        request.headers.add(name: header, value: signatures.sign(body: body))
        if let traceParent { request.headers.add(name: "traceparent", value: traceParent) }
        request.body = .bytes(ByteBuffer(data: body))
        let response = try await execute(request, timeout: timeout)
        let answer = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), answer)
    }
}
