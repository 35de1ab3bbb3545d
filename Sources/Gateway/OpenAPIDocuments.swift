import AsyncHTTPClient
import HTTPSupport
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import ServiceClient

/// `GET /api/openapi/<service>.json`: each service's OpenAPI 3.1 document, as the running
/// service serves it at `/openapi.json` (so it always matches what is deployed), and
/// `GET /api/openapi`: a page that lists them.
struct OpenAPIDocuments: Sendable {
    /// The services with a public API, by their path segment.
    static let segments = ["users", "campaigns", "pledges", "payments", "notifications"]

    let services: [String: String]
    let client: HTTPClient

    func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("openapi") { _, _ in self.page() }
        group.get("openapi/:document") { _, context in
            try await self.document(context.parameters.get("document") ?? "")
        }
    }

    func document(_ name: String) async throws -> Response {
        let segment = String(name.dropLast(".json".count))
        guard name.hasSuffix(".json"), Self.segments.contains(segment), let base = services[segment] else { throw APIError.notFound }
        let answer: HTTPClientResponse
        let body: ByteBuffer
        do {
            answer = try await client.tracedExecute(HTTPClientRequest(url: base + "/openapi.json"), timeout: .seconds(5))
            body = try await answer.body.collect(upTo: 4 << 20)
        } catch {
            throw APIError(.badGateway, code: "upstream_unavailable", message: "The \(segment) service is unavailable.")
        }
        guard answer.status == .ok else { throw APIError.notFound }
        return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-cache"], body: .init(byteBuffer: body))
    }

    func page() -> Response {
        let items = Self.segments.filter { services[$0] != nil }.map { "<li><a href=\"/api/openapi/\($0).json\">\($0)</a></li>" }.joined()
        let html = """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><title>CareForAll API documents</title></head>
            <body><h1>CareForAll API documents</h1><p>OpenAPI 3.1, one per service; through this gateway every path is under /api.</p>
            <ul>\(items)</ul></body></html>
            """
        return Response(
            status: .ok,
            headers: [.contentType: "text/html; charset=utf-8", .contentSecurityPolicy: "default-src 'none'; frame-ancestors 'none'"],
            body: .init(byteBuffer: ByteBuffer(string: html))
        )
    }
}
