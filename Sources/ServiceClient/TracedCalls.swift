import AsyncHTTPClient
import NIOCore
import NIOHTTP1
import Observability

extension HTTPClient {
    /// `execute` inside a client span (`HTTP <METHOD>`, with the host, path and status) whose
    /// `traceparent` replaces the one the request carries, so the callee's server span is its
    /// child. With tracing off it is `execute`, and the request keeps the `traceparent` it was given.
    public func tracedExecute(_ request: HTTPClientRequest, timeout: TimeAmount) async throws -> HTTPClientResponse {
        try await Trace.span("HTTP \(request.method.rawValue)", kind: .client) { span in
            var request = request
            if let traceParent = span.traceParent {
                request.headers.replaceOrAdd(name: "traceparent", value: traceParent)
                // The path without its query: queries may carry e-mail addresses.
                let path = request.url.split(separator: "?", maxSplits: 1).first.map(String.init) ?? request.url
                span.set("url.full", path)
                span.set("http.request.method", request.method.rawValue)
            }
            let response = try await execute(request, timeout: timeout)
            span.set("http.response.status_code", Int(response.status.code))
            if response.status.code >= 500 { span.fail("HTTP \(response.status.code)") }
            return response
        }
    }
}
