import AsyncHTTPClient
import Foundation
import HTTPSupport
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import NIOCore
import Observability
import Testing
import TestSupport
@testable import Gateway
import NIOFoundationEssentialsCompat
import NIOHTTP1

/// What the stand-in upstream saw of a forwarded request.
private struct Seen: ResponseEncodable, Decodable {
    let method: String
    let path: String
    let query: String?
    let requestID: String?
    let traceparent: String?
    let authorization: String?
    let body: String
}

/// A live stand-in for a service: echoes what it received, or fails on `/users/conflict`.
private func withUpstream<Value: Sendable>(_ test: @escaping @Sendable (Int) async throws -> Value) async throws -> Value {
    let router = Router()
    for method: HTTPRequest.Method in [.get, .post, .patch] {
        router.on("/**", method: method) { request, context -> Response in
            if request.uri.path == "/users/conflict" {
                return Response(
                    status: .conflict, headers: [.contentType: "application/json"],
                    body: .init(byteBuffer: ByteBuffer(string: #"{"error":{"code":"email_taken","message":"taken"}}"#))
                )
            }
            return try await echo(request, context).response(from: request, context: context)
        }
    }
    let app = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: TestLogging.logger)
    return try await app.test(.live) { client in try await test(client.port!) }
}

@Sendable private func echo(_ request: Request, _ context: BasicRequestContext) async throws -> Seen {
    let body = try await request.body.collect(upTo: 1 << 20)
    return Seen(
        method: request.method.rawValue, path: request.uri.path, query: request.uri.query,
        requestID: request.headers[.requestID], traceparent: request.headers[.traceparent],
        authorization: request.headers[.authorization], body: String(buffer: body)
    )
}

private func makeGateway(
    routes: [String: String], rateLimits: [String: RateLimit] = [:], sharedRateLimits: [SharedRateLimit] = [],
    streams: StreamSlots = StreamSlots(perClient: 6, total: 1000)
) -> some ApplicationProtocol {
    Application(
        router: GatewayApp.buildRouter(
            proxy: ReverseProxy(routes: routes, streams: streams, timeout: .seconds(5)), rateLimits: rateLimits, sharedRateLimits: sharedRateLimits, metrics: ServiceMetrics()
        ),
        configuration: .init(address: .hostname("127.0.0.1", port: 0)),
        logger: TestLogging.logger
    )
}

@Suite("The built-in gateway")
struct GatewayRoutingTests {
    @Test("/api/<segment>/<rest> reaches <service>/<segment>/<rest> with method, query, body and headers")
    func forwards() async throws {
        try await withUpstream { port in
            try await makeGateway(routes: ["users": "http://127.0.0.1:\(port)"]).test(.router) { client in
                let traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
                let response = try await client.execute(
                    uri: "/api/users/register?source=web", method: .post,
                    headers: [.contentType: "application/json", .authorization: "Bearer abc", .traceparent: traceparent, .requestID: "gw-test-1"],
                    body: ByteBuffer(string: #"{"email":"a@b.c"}"#)
                )
                #expect(response.status == .ok)
                let seen = try JSONDecoder().decode(Seen.self, from: Data(buffer: response.body))
                #expect(seen.method == "POST")
                #expect(seen.path == "/users/register")
                #expect(seen.query == "source=web")
                #expect(seen.body == #"{"email":"a@b.c"}"#)
                #expect(seen.authorization == "Bearer abc")
                #expect(seen.traceparent == traceparent)
                #expect(seen.requestID == "gw-test-1")
                #expect(response.headers[.requestID] == "gw-test-1")
            }
        }
    }

    @Test("the gateway makes a request id when the client sends none, and the service sees the same one")
    func generatedRequestID() async throws {
        try await withUpstream { port in
            try await makeGateway(routes: ["users": "http://127.0.0.1:\(port)"]).test(.router) { client in
                let response = try await client.execute(uri: "/api/users/me", method: .get)
                let seen = try JSONDecoder().decode(Seen.self, from: Data(buffer: response.body))
                #expect(seen.requestID != nil)
                #expect(seen.requestID == response.headers[.requestID])
                // A request without a trace starts one, and the service continues it.
                #expect(seen.traceparent.flatMap(TraceParent.traceID(from:)) != nil)
            }
        }
    }

    @Test("a service's error answer passes through unchanged")
    func passesErrors() async throws {
        try await withUpstream { port in
            try await makeGateway(routes: ["users": "http://127.0.0.1:\(port)"]).test(.router) { client in
                let response = try await client.execute(uri: "/api/users/conflict", method: .get)
                #expect(response.status == .conflict)
                #expect(response.errorCode == "email_taken")
            }
        }
    }

    @Test("internal routes, unknown services and bare /api are 404 not_found")
    func refuses() async throws {
        try await withUpstream { port in
            let upstream = "http://127.0.0.1:\(port)"
            try await makeGateway(routes: ["users": upstream, "campaigns": upstream, "pledges": upstream]).test(.router) { client in
                for (method, uri) in [
                    (HTTPRequest.Method.post, "/api/campaigns/events"), (.post, "/api/campaigns//events/"),
                    (.post, "/api/pledges/webhooks/payment"), (.get, "/api/unknown/thing"), (.get, "/api"), (.get, "/api/"),
                ] {
                    let response = try await client.execute(uri: uri, method: method, body: ByteBuffer(string: "{}"))
                    #expect(response.status == .notFound, "\(method) \(uri)")
                    #expect(response.errorCode == "not_found", "\(method) \(uri)")
                }
                // The public campaign routes themselves still pass.
                #expect(try await client.execute(uri: "/api/campaigns/7/donations", method: .get).status == .ok)
            }
        }
    }

    @Test("every spelling of an internal route is refused before anything is forwarded; other paths reach the service normalized")
    func spellingsRefused() async throws {
        try await withUpstream { port in
            let upstream = "http://127.0.0.1:\(port)"
            try await makeGateway(routes: ["users": upstream, "campaigns": upstream, "pledges": upstream]).test(.live) { client in
                for uri in [
                    "/api/campaigns/events#x", "/api/campaigns/events/", "/api/campaigns/./events", "/api/campaigns/x/../events",
                    "/api/campaigns/%65vents", "/api/campaigns%2Fevents", "/api/Campaigns/EVENTS", "/api/campaigns/events;x=1",
                    "/api/pledges/internal/lookup", "/api/pledges/INTERNAL/lookup/", "/api/pledges/webhooks/%70ayment",
                    "/api/users/internal/token-versions/1", "/api/campaigns/events%00",
                ] {
                    let response = try await client.execute(uri: uri, method: .post, body: ByteBuffer(string: "{}"))
                    #expect([.notFound, .badRequest].contains(response.status), "\(uri): \(response.status)")
                    #expect(["not_found", "invalid_path", "invalid_text"].contains(response.errorCode ?? ""), "\(uri)")
                }
                let seen = try JSONDecoder().decode(
                    Seen.self, from: Data(buffer: try await client.execute(uri: "/api//users/x/../%6De/?a=1", method: .get).body)
                )
                #expect(seen.path == "/users/me")
                #expect(seen.query == "a=1")
            }
        }
    }

    @Test("open live streams never hold up other requests: they have their own connections, capped per client")
    func streamsApart() async throws {
        let router = Router()
        let (release, releaser) = AsyncStream.makeStream(of: Void.self)
        router.get("/campaigns/:id/stream") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/event-stream"], body: ResponseBody { writer in
                try await writer.write(ByteBuffer(string: "event: campaign\ndata: {}\n\n"))
                for await _ in release { break }
                try await writer.finish(nil)
            })
        }
        router.get("/campaigns/:id") { _, _ in "{}" }
        let upstream = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: TestLogging.logger)
        try await upstream.test(.live) { upstreamClient in
            let gateway = makeGateway(routes: ["campaigns": "http://127.0.0.1:\(upstreamClient.port!)"], streams: StreamSlots(perClient: 12, total: 100))
            // A browser crowd: one client with room for every stream it opens.
            var configuration = HTTPClient.Configuration()
            configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 32
            let browser = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
            try await gateway.test(.live) { client in
                let url = "http://127.0.0.1:\(client.port!)/api/campaigns/7"
                var open: [HTTPClientResponse] = []
                for _ in 0..<12 {
                    let stream = try await browser.execute(HTTPClientRequest(url: url + "/stream"), timeout: .seconds(5))
                    #expect(stream.status == .ok)
                    open.append(stream)
                }
                // The thirteenth from the same client is over its share.
                let over = try await browser.execute(HTTPClientRequest(url: url + "/stream"), timeout: .seconds(5))
                #expect(over.status == .tooManyRequests)
                #expect(try await over.body.collect(upTo: 1 << 16).readableBytes > 0)
                // With twelve streams open (more than a default pool of eight), a read still answers at once.
                let read = try await browser.execute(HTTPClientRequest(url: url), timeout: .seconds(3))
                #expect(read.status == .ok)
                _ = try await read.body.collect(upTo: 1 << 16)
                releaser.finish()
                for stream in open { _ = try await stream.body.collect(upTo: 1 << 16) }
            }
            try await browser.shutdown()
        }
    }

    @Test("the admin status page asks user-service who the caller is: no token 401, a donor 403, an ended token 401 token_revoked")
    func adminStatusAskUsers() async throws {
        let router = Router()
        router.get("/users/me") { request, _ -> Response in
            let role: String
            switch request.headers[.authorization] {
            case "Bearer admin": role = "admin"
            case "Bearer donor": role = "donor"
            default:
                return Response(status: .unauthorized, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(
                    string: #"{"error":{"code":"token_revoked","message":"ended"}}"#
                )))
            }
            return Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(string: #"{"role":"\#(role)"}"#)))
        }
        let users = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: TestLogging.logger)
        try await users.test(.live) { usersClient in
            try await makeGateway(routes: ["users": "http://127.0.0.1:\(usersClient.port!)"]).test(.router) { client in
                #expect(try await client.execute(uri: "/api/admin/status", method: .get).status == .unauthorized)
                #expect(try await client.execute(uri: "/api/admin/status", method: .get, headers: .bearer("donor")).status == .forbidden)
                let ended = try await client.execute(uri: "/api/admin/status", method: .get, headers: .bearer("old"))
                #expect(ended.status == .unauthorized && ended.errorCode == "token_revoked")
                #expect(try await client.execute(uri: "/api/admin/status", method: .get, headers: .bearer("admin")).status == .ok)
            }
        }
    }

    @Test("a service that is down is 502 upstream_unavailable")
    func upstreamDown() async throws {
        let closedPort = try FreePort.next()
        try await makeGateway(routes: ["users": "http://127.0.0.1:\(closedPort)"]).test(.router) { client in
            let response = try await client.execute(uri: "/api/users/me", method: .get)
            #expect(response.status == .badGateway)
            #expect(response.errorCode == "upstream_unavailable")
        }
    }

    @Test("a body over the limit is 413 before anything is forwarded")
    func bodyLimit() async throws {
        try await makeGateway(routes: ["users": "http://127.0.0.1:9"]).test(.router) { client in
            let response = try await client.execute(
                uri: "/api/users/register", method: .post, headers: .json,
                body: ByteBuffer(string: String(repeating: "x", count: HTTPLimits.maxBodySize + 1))
            )
            #expect(response.status == .contentTooLarge)
            #expect(response.errorCode == "payload_too_large")
        }
    }

    @Test("the web UI is served at /, and the gateway has health and metrics of its own")
    func webUIAndHealth() async throws {
        try await makeGateway(routes: [:]).test(.router) { client in
            let page = try await client.execute(uri: "/", method: .get)
            #expect(page.status == .ok)
            #expect(page.headers[.contentType]?.hasPrefix("text/html") == true)
            #expect(page.text.contains("CareForAll"))
            #expect(try await client.execute(uri: "/health/ready", method: .get).status == .ok)
            #expect(try await client.execute(uri: "/metrics", method: .get).text.contains("http_requests_total"))
            // The same through a front proxy is the public asking: not served.
            let forwarded: HTTPFields = [HTTPField.Name("X-Forwarded-For")!: "203.0.113.9"]
            for path in ["/metrics", "/health/live", "/health/ready", "/Metrics", "//health/ready"] {
                let response = try await client.execute(uri: path, method: .get, headers: forwarded)
                #expect(response.status == .notFound && !response.text.contains("http_requests_total"), "\(path)")
            }
            let standard = try await client.execute(uri: "/metrics", method: .get, headers: [HTTPField.Name("Forwarded")!: "for=203.0.113.9"])
            #expect(standard.status == .notFound)
            #expect(try await client.execute(uri: "/", method: .get, headers: forwarded).status == .ok)
        }
    }

    @Test("the public API documents leave out what services sign between them, and the operations routes")
    func publicDocuments() throws {
        let full: [String: Any] = [
            "openapi": "3.1.0",
            "paths": [
                "/metrics": ["get": ["security": [] as [Any]]],
                "/health/live": ["get": [:] as [String: Any]],
                "/pledges": ["post": ["security": [[:], ["bearer": []]]]],
                "/pledges/internal/lookup": ["post": ["security": [["signature": []]]]],
                "/pledges/webhooks/payment": ["post": ["security": [["signature": []]]], "parameters": [] as [Any]],
            ] as [String: Any],
            "components": ["securitySchemes": ["bearer": ["type": "http"], "signature": ["name": "X-CareForAll-Signature"]]],
        ]
        let data = try JSONSerialization.data(withJSONObject: full)
        let part = try #require(OpenAPIDocuments.publicPart(of: data))
        let document = try #require(try JSONSerialization.jsonObject(with: part) as? [String: Any])
        #expect((document["paths"] as? [String: Any]).map { Set($0.keys) } == ["/pledges"])
        #expect(!String(decoding: part, as: UTF8.self).contains("X-CareForAll-Signature"))
    }

    @Test("login and pledge creation are rate-limited per client: 429 rate_limited with Retry-After; other routes are not")
    func rateLimits() async throws {
        try await withUpstream { port in
            let upstream = "http://127.0.0.1:\(port)"
            // Refills slow enough that a loaded test machine cannot refill a bucket between two calls.
            let limits = ["POST /users/login": RateLimit(perMinute: 1, burst: 2), "POST /pledges": RateLimit(perMinute: 1, burst: 1)]
            // Every spelling of a limited route shares its bucket: a fragment, a case, an encoding.
            try await makeGateway(routes: ["users": upstream, "pledges": upstream], rateLimits: limits).test(.live) { client in
                for _ in 0..<2 {
                    #expect(try await client.execute(uri: "/api/users/login", method: .post, body: ByteBuffer(string: "{}")).status == .ok)
                }
                let limited = try await client.execute(uri: "/api/users/login", method: .post, body: ByteBuffer(string: "{}"))
                #expect(limited.status == .tooManyRequests)
                #expect(limited.errorCode == "rate_limited")
                let retryAfter = try #require(limited.headers[.retryAfter].flatMap { Int($0) })
                #expect((1...60).contains(retryAfter))
                // Other routes, and other methods on the same path, pass.
                #expect(try await client.execute(uri: "/api/users/register", method: .post, body: ByteBuffer(string: "{}")).status == .ok)
                #expect(try await client.execute(uri: "/api/users/login", method: .get).status == .ok)
                #expect(try await client.execute(uri: "/api/pledges", method: .post, body: ByteBuffer(string: "{}")).status == .ok)
                #expect(try await client.execute(uri: "/api//pledges/", method: .post, body: ByteBuffer(string: "{}")).status == .tooManyRequests)
                for spelling in ["/api/users/LOGIN", "/api/users/%6cogin/", "/api/users/x/../login?y=1"] {
                    let response = try await client.execute(uri: spelling, method: .post, body: ByteBuffer(string: "{}"))
                    #expect(response.status == .tooManyRequests, "\(spelling)")
                }
                #expect(try await client.execute(uri: "/api/users/login#x", method: .post, body: ByteBuffer(string: "{}")).status == .badRequest)
            }
        }
    }

    @Test("login, registration and password change share one bcrypt budget per client, besides their own limits")
    func bcryptBudget() async throws {
        try await withUpstream { port in
            let upstream = "http://127.0.0.1:\(port)"
            let limits = GatewayConfig.rateLimits(login: 2, register: 2, password: 2, pledges: 0, payments: 0)
            let shared = GatewayConfig.bcryptBudget(login: 2, register: 2, password: 2)
            #expect(limits["POST /users/me/password"] == RateLimit(perMinute: 2, burst: 2))
            try await makeGateway(routes: ["users": upstream], rateLimits: limits, sharedRateLimits: shared).test(.live) { client in
                #expect(try await client.execute(uri: "/api/users/login", method: .post, body: ByteBuffer(string: "{}")).status == .ok)
                #expect(try await client.execute(uri: "/api/users/me/password", method: .post, body: ByteBuffer(string: "{}")).status == .ok)
                // Each route has a call left of its own, but the shared budget is spent.
                for path in ["/api/users/register", "/api/users/me/password", "/api/users/Me/Password/", "/api/users/login"] {
                    let response = try await client.execute(uri: path, method: .post, body: ByteBuffer(string: "{}"))
                    #expect(response.status == .tooManyRequests && response.errorCode == "rate_limited", "\(path)")
                }
                #expect(try await client.execute(uri: "/api/users/me", method: .get).status == .ok)
            }
        }
        #expect(GatewayConfig.bcryptBudget(login: 0, register: 0, password: 0).isEmpty)
        #expect(GatewayConfig.bcryptBudget(login: 10, register: 0, password: 5).first?.routes == ["POST /users/login", "POST /users/me/password"])
    }

    @Test("token buckets refill at their rate and keep clients apart")
    func buckets() {
        let limiter = RateLimiter()
        let limit = RateLimit(perMinute: 60, burst: 2)
        let start = ContinuousClock.now
        #expect(limiter.take("a", limit: limit, now: start) == nil)
        #expect(limiter.take("a", limit: limit, now: start) == nil)
        #expect(limiter.take("a", limit: limit, now: start) == .seconds(1))
        #expect(limiter.take("b", limit: limit, now: start) == nil, "another client has its own bucket")
        #expect(limiter.take("a", limit: limit, now: start + .milliseconds(500)) == .milliseconds(500))
        #expect(limiter.take("a", limit: limit, now: start + .milliseconds(1500)) == nil)
    }

    @Test("answers stream through: the first bytes arrive while the service is still writing")
    func streams() async throws {
        let (release, releaser) = AsyncStream.makeStream(of: Void.self)
        let router = Router()
        router.get("/campaigns/stream") { _, _ -> Response in
            Response(status: .ok, headers: [.contentType: "text/event-stream"], body: ResponseBody { writer in
                try await writer.write(ByteBuffer(string: "data: first\n\n"))
                for await _ in release { break }
                try await writer.write(ByteBuffer(string: "data: second\n\n"))
                try await writer.finish(nil)
            })
        }
        let upstream = Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: 0)), logger: TestLogging.logger)
        try await upstream.test(.live) { upstreamClient in
            try await makeGateway(routes: ["campaigns": "http://127.0.0.1:\(upstreamClient.port!)"]).test(.live) { gateway in
                let response = try await HTTPClient.testing.execute(
                    HTTPClientRequest(url: "http://127.0.0.1:\(gateway.port!)/api/campaigns/stream"), timeout: .seconds(10)
                )
                #expect(response.headers.first(name: "content-type") == "text/event-stream")
                var chunks = response.body.makeAsyncIterator()
                let first = try await chunks.next()
                #expect(first.map { String(buffer: $0) } == "data: first\n\n", "the first event came before the service finished")
                releaser.yield()
                releaser.finish()
                var rest = ""
                while let chunk = try await chunks.next() { rest += String(buffer: chunk) }
                #expect(rest == "data: second\n\n")
            }
        }
    }

    @Test("the admin panel's figures are read from each service's Prometheus text")
    func statusFigures() {
        let text = """
            # TYPE outbox_pending_rows gauge
            outbox_pending_rows 3
            outbox_oldest_pending_seconds 12.5
            outbox_dead_rows 1
            outbox_delivery_failures_total{destination="campaign-events"} 2
            outbox_delivery_failures_total{destination="pledge-webhook"} 1
            http_requests_total{route="/pledges",method="POST",status="201"} 40
            http_requests_total{route="/pledges",method="POST",status="503"} 4
            http_requests_total{route="/payments",method="POST",status="500"} 1
            """
        let figures = ServiceStatusController.figures(fromPrometheusText: text)
        #expect(figures[.outboxPendingRows] == 3)
        #expect(figures[.outboxOldestPendingSeconds] == 12.5)
        #expect(figures[.outboxDeadRows] == 1)
        #expect(figures[.outboxDeliveryFailuresTotal] == 3)
        // Only the 5xx answers: the server errors.
        #expect(figures[.httpRequestsTotal] == 5)
    }

    @Test("the web UI's files are served with their types and a strict content security policy")
    func webUIAssets() async throws {
        try await makeGateway(routes: [:]).test(.router) { client in
            for (path, type) in [("/", "text/html"), ("/app.js", "text/javascript"), ("/style.css", "text/css")] {
                let response = try await client.execute(uri: path, method: .get)
                #expect(response.status == .ok, "\(path)")
                #expect(response.headers[.contentType]?.hasPrefix(type) == true, "\(path)")
                #expect(response.headers[HTTPField.Name("Content-Security-Policy")!]?.contains("default-src 'self'") == true)
                #expect(response.headers[HTTPField.Name("Content-Security-Policy")!]?.contains("frame-ancestors 'none'") == true)
                #expect(response.headers[HTTPField.Name("X-Frame-Options")!] == "DENY")
            }
            #expect(try await client.execute(uri: "/app.js", method: .get).text.contains("EventSource"))
        }
    }
}
