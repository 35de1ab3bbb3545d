import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationEssentialsCompat
import NIOHTTP1
import Signatures

extension HTTPClient {
    /// Posts `body` as JSON with its signature in `header` (`X-CareForAll-Signature` between
    /// services, v2 over the method and the URL's path; `Stripe-Signature` for the sandbox's
    /// webhooks), signed at sending time, and the trace context if given. Returns the status and
    /// up to 1 MiB of the answer.
    public func postSigned(
        _ body: Data, to url: String, signatures: SignatureScheme, header: String = "X-CareForAll-Signature",
        traceParent: String? = nil, timeout: TimeAmount
    ) async throws -> (status: Int, body: ByteBuffer) {
        try await sendSigned(.POST, url: url, body: body, signatures: signatures, header: header, traceParent: traceParent, timeout: timeout)
    }

    /// A signed GET (an empty body is what is signed).
    public func getSigned(_ url: String, signatures: SignatureScheme, timeout: TimeAmount) async throws -> (status: Int, body: ByteBuffer) {
        try await sendSigned(.GET, url: url, body: nil, signatures: signatures, header: "X-CareForAll-Signature", traceParent: nil, timeout: timeout)
    }

    func sendSigned(
        _ method: HTTPMethod, url: String, body: Data?, signatures: SignatureScheme, header: String, traceParent: String?, timeout: TimeAmount
    ) async throws -> (status: Int, body: ByteBuffer) {
        var request = HTTPClientRequest(url: url)
        request.method = method
        let components = URLComponents(string: url)
        var path = components?.percentEncodedPath ?? ""
        if path.isEmpty { path = "/" }
        // The query is signed with the path.
        if let query = components?.percentEncodedQuery { path += "?" + query }
        request.headers.add(name: header, value: signatures.sign(method: method.rawValue, path: path, body: body ?? Data()))
        if let traceParent { request.headers.add(name: "traceparent", value: traceParent) }
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(data: body))
        }
        let response = try await tracedExecute(request, timeout: timeout)
        let answer = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), answer)
    }
}
