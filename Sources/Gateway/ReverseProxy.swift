import AsyncHTTPClient
import ServiceClient
import Foundation
import HTTPSupport
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import Logging

/// Forwards `/api/<segment>/<rest>` to `<service>/<segment>/<rest>`, passing the request id and
/// trace context on and dropping hop-by-hop headers both ways. Requests (small JSON, at most
/// 1 MiB) are read whole so the limit holds before anything is sent; answers stream back as they
/// come, over the shared client's pooled keep-alive connections.
public struct ReverseProxy: Sendable {
    let routes: [String: String]
    let client: HTTPClient
    let timeout: TimeAmount

    /// Routes only services reach each other on; the public gets 404, as for any unknown route.
    static let internalRoutes: Set<String> = ["POST /campaigns/events", "POST /pledges/webhooks/payment", "POST /pledges/internal/lookup"]

    public init(routes: [String: String], client: HTTPClient = .betweenServices, timeout: TimeAmount = .seconds(30)) {
        self.routes = routes
        self.client = client
        self.timeout = timeout
    }


    func forward(_ request: Request, context: AppRequestContext) async throws -> Response {
        let path = String(request.uri.path.dropFirst("/api".count))
        let segment = path.split(separator: "/", omittingEmptySubsequences: true).first.map(String.init) ?? ""
        guard let base = routes[segment] else { throw APIError.notFound }
        guard !Self.internalRoutes.contains("\(request.method.rawValue) \(Self.normalized(path))") else { throw APIError.notFound }

        var upstream = HTTPClientRequest(url: base + path + (request.uri.query.map { "?" + $0 } ?? ""))
        upstream.method = NIOHTTP1.HTTPMethod(rawValue: request.method.rawValue)
        for field in request.headers where !Self.isHopByHop(field.name) {
            upstream.headers.add(name: field.name.rawName, value: field.value)
        }
        upstream.headers.replaceOrAdd(name: "X-Request-ID", value: context.requestID)
        upstream.headers.replaceOrAdd(name: "traceparent", value: context.traceParent)
        let body = try await request.collectBody(context: context)
        if body.readableBytes > 0 || [.post, .put, .patch].contains(request.method) {
            upstream.body = .bytes(body)
        }

        let response: HTTPClientResponse
        do {
            // The timeout covers the wait for the answer's head; its body then streams through
            // (Server-Sent Events stay open as long as both ends do).
            response = try await client.execute(upstream, timeout: timeout)
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            context.logger.warning("upstream timed out", metadata: ["upstream": .string(segment)])
            throw APIError(.gatewayTimeout, code: "upstream_timeout", message: "The \(segment) service did not answer in time.")
        } catch {
            context.logger.warning("upstream unavailable", metadata: ["upstream": .string(segment), "error": "\(error)"])
            throw APIError(.badGateway, code: "upstream_unavailable", message: "The \(segment) service is unavailable.")
        }

        var headers = HTTPFields()
        for (name, value) in response.headers {
            guard let fieldName = HTTPField.Name(name), !Self.isHopByHop(fieldName) || fieldName == .contentLength else { continue }
            headers.append(HTTPField(name: fieldName, value: value))
        }
        return Response(status: .init(code: Int(response.status.code)), headers: headers, body: ResponseBody(asyncSequence: response.body))
    }

    /// `/a//b/` as `/a/b`: how routes are compared, so extra slashes cannot slip past a rule.
    static func normalized(_ path: String) -> String {
        "/" + path.split(separator: "/", omittingEmptySubsequences: true).joined(separator: "/")
    }

    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "trailers",
        "transfer-encoding", "upgrade", "host", "content-length",
    ]

    static func isHopByHop(_ name: HTTPField.Name) -> Bool {
        hopByHop.contains(name.canonicalName)
    }
}
