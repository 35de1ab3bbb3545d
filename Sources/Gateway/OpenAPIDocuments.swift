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
        guard var document = try? JSONDecoder().decode(OpenAPIDocument.self, from: data) else { return nil }
        document.paths = document.paths.filter { path, _ in !path.hasPrefix("/health/") && path != "/metrics" }.compactMapValues { item in
            var item = item
            item.operations = item.operations.filter { !$0.value.isSigned }
            return item.operations.isEmpty ? nil : item
        }
        document.components?.securitySchemes?["signature"] = nil
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        return try? encoder.encode(document)
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

/// The part of an OpenAPI 3.1 document the gateway reads to publish the public part: the paths,
/// each path's operations by method and whether one is signed, and the security schemes. Every
/// other member is kept as it came (`OpenAPIDocument.Value`), so the document is decoded once and
/// written back whole.
struct OpenAPIDocument: Codable {
    var paths: [String: PathItem]
    var components: Components?
    var other: [String: Value]

    static let methods: Set<String> = ["get", "put", "post", "delete", "patch", "head", "options", "trace"]

    struct PathItem: Codable {
        var operations: [String: Operation]
        var other: [String: Value]

        init(from decoder: any Decoder) throws {
            let members = try [String: Value](from: decoder)
            operations = try members.filter { OpenAPIDocument.methods.contains($0.key) }.mapValues { try $0.decode(Operation.self) }
            other = members.filter { !OpenAPIDocument.methods.contains($0.key) }
        }

        func encode(to encoder: any Encoder) throws {
            try other.merging(try operations.mapValues { try Value(encoding: $0) }) { $1 }.encode(to: encoder)
        }
    }

    struct Operation: Codable {
        var members: [String: Value]
        /// Signed between services (`security: [{signature: []}]`): not for the public.
        var isSigned: Bool {
            guard case .array(let requirements)? = members["security"] else { return false }
            return requirements.contains { if case .object(let names) = $0 { names["signature"] != nil } else { false } }
        }

        init(from decoder: any Decoder) throws { members = try [String: Value](from: decoder) }
        func encode(to encoder: any Encoder) throws { try members.encode(to: encoder) }
    }

    struct Components: Codable {
        var securitySchemes: [String: Value]?
        var other: [String: Value]

        init(from decoder: any Decoder) throws {
            var members = try [String: Value](from: decoder)
            securitySchemes = try members.removeValue(forKey: "securitySchemes").map { try $0.decode([String: Value].self) }
            other = members
        }

        func encode(to encoder: any Encoder) throws {
            var members = other
            if let securitySchemes { members["securitySchemes"] = .object(securitySchemes) }
            try members.encode(to: encoder)
        }
    }

    init(from decoder: any Decoder) throws {
        var members = try [String: Value](from: decoder)
        guard let paths = members.removeValue(forKey: "paths") else {
            throw DecodingError.keyNotFound(Key("paths"), .init(codingPath: decoder.codingPath, debugDescription: "an OpenAPI document has paths"))
        }
        self.paths = try paths.decode([String: PathItem].self)
        components = try members.removeValue(forKey: "components").map { try $0.decode(Components.self) }
        other = members
    }

    func encode(to encoder: any Encoder) throws {
        var members = other
        members["paths"] = try Value(encoding: paths)
        if let components { members["components"] = try Value(encoding: components) }
        try members.encode(to: encoder)
    }

    private struct Key: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(_ string: String) { stringValue = string }
        init?(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }

    /// A member the gateway passes through unread.
    enum Value: Codable {
        case null, bool(Bool), integer(Int64), number(Double), string(String), array([Value]), object([String: Value])

        init(from decoder: any Decoder) throws {
            let container = try decoder.singleValueContainer()
            if container.decodeNil() { self = .null }
            else if let value = try? container.decode(Bool.self) { self = .bool(value) }
            else if let value = try? container.decode(Int64.self) { self = .integer(value) }
            else if let value = try? container.decode(Double.self) { self = .number(value) }
            else if let value = try? container.decode(String.self) { self = .string(value) }
            else if let value = try? container.decode([Value].self) { self = .array(value) }
            else { self = .object(try container.decode([String: Value].self)) }
        }

        func encode(to encoder: any Encoder) throws {
            var container = encoder.singleValueContainer()
            switch self {
            case .null: try container.encodeNil()
            case .bool(let value): try container.encode(value)
            case .integer(let value): try container.encode(value)
            case .number(let value): try container.encode(value)
            case .string(let value): try container.encode(value)
            case .array(let value): try container.encode(value)
            case .object(let value): try container.encode(value)
            }
        }

        /// The typed reading of a member, through the same coder.
        func decode<T: Decodable>(_ type: T.Type) throws -> T { try JSONDecoder().decode(T.self, from: JSONEncoder().encode(self)) }
        init<T: Encodable>(encoding value: T) throws { self = try JSONDecoder().decode(Value.self, from: JSONEncoder().encode(value)) }
    }
}
