import GatewayPaths
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
/// trace context on and dropping hop-by-hop headers both ways. The path is judged and forwarded in
/// its normalized form (`GatewayPath`): internal routes are 404 in every spelling. Requests (small
/// JSON, at most 1 MiB) are read whole so the limit holds before anything is sent; answers stream
/// back as they come. Live streams go over a connection pool of their own, capped per client and
/// in all, so however many are open, reads and pledges never wait behind them.
public struct ReverseProxy: Sendable {
    let routes: [String: String]
    let client: HTTPClient
    let streamClient: HTTPClient
    let streams: StreamSlots
    let timeout: TimeAmount

    public init(
        routes: [String: String], client: HTTPClient = .gatewayRequests, streamClient: HTTPClient = .gatewayStreams,
        streams: StreamSlots = StreamSlots(perClient: GatewayConfig.defaultStreamsPerClient, total: GatewayConfig.defaultMaximumStreams),
        timeout: TimeAmount = .seconds(30)
    ) {
        self.routes = routes
        self.client = client
        self.streamClient = streamClient
        self.streams = streams
        self.timeout = timeout
    }

    func forward(_ request: Request, context: AppRequestContext) async throws -> Response {
        let full = try GatewayPath.judging(request.uri.path)
        guard full.folded.first == "api" else { throw APIError.notFound }
        let path = full.droppingFirst
        let segment = path.folded.first ?? ""
        guard let base = routes[segment], !GatewayRules.isInternal(path) else { throw APIError.notFound }
        let isStream = GatewayRules.isStream(request.method.rawValue, path)
        // Taken before the upstream call; given back when the response (or the refusal) is gone.
        let slot = isStream ? try streams.take(client: context.clientAddress ?? "unknown") : nil

        var upstream = HTTPClientRequest(url: base + path.encoded + (request.uri.query.map { "?" + $0 } ?? ""))
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
            response = try await (isStream ? streamClient : client).tracedExecute(upstream, timeout: timeout)
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
        let status = HTTPResponse.Status(code: Int(response.status.code))
        guard let slot else {
            return Response(status: status, headers: headers, body: ResponseBody(asyncSequence: response.body))
        }
        return Response(status: status, headers: headers, body: ResponseBody { writer in
            defer { withExtendedLifetime(slot) {} }
            for try await chunk in response.body {
                try await writer.write(chunk)
            }
            try await writer.finish(nil)
        })
    }

    static let hopByHop: Set<String> = [
        "connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te", "trailer", "trailers",
        "transfer-encoding", "upgrade", "host", "content-length",
    ]

    static func isHopByHop(_ name: HTTPField.Name) -> Bool {
        hopByHop.contains(name.canonicalName)
    }
}

extension HTTPClient {
    /// The gateway's client for ordinary requests: its own pool (not shared with the services'
    /// calls to each other in dev mode), wide enough for a burst.
    public static let gatewayRequests: HTTPClient = {
        var configuration = HTTPClient.Configuration.betweenServices
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    /// The gateway's client for live streams: one connection per open stream, as many as the
    /// gateway lets open.
    public static let gatewayStreams: HTTPClient = {
        var configuration = HTTPClient.Configuration.betweenServices
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = GatewayConfig.defaultMaximumStreams
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()
}
