import AsyncHTTPClient
import Foundation
import HTTPSupport
import HTTPTypes
import Hummingbird
import NIOCore
import NIOHTTP1
import NIOFoundationEssentialsCompat
import ServiceClient

/// `GET /api/openapi/<service>.json`: the public part of each service's OpenAPI 3.1 document, as
/// the running service serves it at `/openapi.json` (so it always matches what is deployed), and
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
        guard answer.status == .ok, let document = Self.publicPart(of: Data(buffer: body)) else { throw APIError.notFound }
        return Response(
            status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-cache"], body: .init(byteBuffer: ByteBuffer(data: document))
        )
    }

    /// The routes the public may call, and nothing of the rest: operations signed between
    /// services (and the signature scheme itself) and the operations routes (`/health/*`,
    /// `/metrics`, which the gateway does not route) are left out. The whole document stays at
    /// each service's own `/openapi.json`, for the people and tests that reach services directly.
    static func publicPart(of data: Data) -> Data? {
        guard var document = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any],
            let paths = document["paths"] as? [String: Any]
        else { return nil }
        var publicPaths: [String: Any] = [:]
        for (path, item) in paths where !path.hasPrefix("/health/") && path != "/metrics" {
            guard var operations = item as? [String: Any] else { continue }
            for (method, operation) in operations {
                let security = (operation as? [String: Any])?["security"] as? [[String: Any]] ?? []
                if security.contains(where: { $0["signature"] != nil }) { operations[method] = nil }
            }
            if operations.keys.contains(where: { ["get", "put", "post", "delete", "patch", "head", "options"].contains($0) }) {
                publicPaths[path] = operations
            }
        }
        document["paths"] = publicPaths
        if var components = document["components"] as? [String: Any], var schemes = components["securitySchemes"] as? [String: Any] {
            schemes["signature"] = nil
            components["securitySchemes"] = schemes
            document["components"] = components
        }
        return try? JSONSerialization.data(withJSONObject: document, options: [.sortedKeys])
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
