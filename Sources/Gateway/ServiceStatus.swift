import Contracts
import AsyncHTTPClient
import Foundation
import HTTPSupport
import Hummingbird
import Observability
import NIOCore
import NIOFoundationEssentialsCompat
import PlatformConfig
import ServiceClient
import NIOHTTP1
import HTTPTypes

/// `GET /api/admin/status` (admins): each service's health, version and outbox figures, read from
/// its own `/health/*` and `/metrics`, for the admin panel. A service that does not answer is
/// shown as down, never an error of the whole page.
struct ServiceStatusController: Sendable {
    /// `users` -> `http://127.0.0.1:3004`, as the proxy routes them.
    let services: [String: String]
    let client: HTTPClient

    struct ServiceState: Codable, Sendable, Equatable {
        let name: String
        let ready: Bool
        let version: String?
        let outboxPending: Int?
        let outboxOldestPendingSeconds: Double?
        /// Events the destination refused for good: kept, never sent again on their own.
        let outboxDead: Int?
        let deliveryFailures: Int?
        let serverErrors: Int?
    }

    struct Overview: ResponseEncodable {
        let checkedAt: String
        let services: [ServiceState]
    }

    func overview(_ request: Request, context: AppRequestContext) async throws -> Overview {
        let states = await withTaskGroup(of: ServiceState.self) { group in
            for (segment, url) in services {
                let name = ServiceRole.allCases.first { $0.publicPathSegment == segment }?.serviceName ?? segment
                group.addTask { await self.state(name: name, baseURL: url) }
            }
            return await group.reduce(into: []) { $0.append($1) }.sorted { $0.name < $1.name }
        }
        return Overview(checkedAt: ISO8601DateFormatter().string(from: Date()), services: states)
    }

    func state(name: String, baseURL: String) async -> ServiceState {
        async let live = fetch(baseURL + "/health/live")
        async let ready = fetch(baseURL + "/health/ready")
        async let metrics = fetch(baseURL + "/metrics")
        let (liveAnswer, readyAnswer, metricsAnswer) = await (live, ready, metrics)
        let version = liveAnswer.flatMap { try? WireCoding.decoder.decode([String: String].self, from: Data($0.body.utf8))["version"] }
        let figures = metricsAnswer.map { Self.figures(fromPrometheusText: $0.body) } ?? [:]
        let pending = figures[.outboxPendingRows]
        return ServiceState(
            name: name, ready: readyAnswer?.status == 200, version: version,
            outboxPending: pending.map { Int($0) },
            outboxOldestPendingSeconds: figures[.outboxOldestPendingSeconds],
            outboxDead: figures[.outboxDeadRows].map { Int($0) },
            deliveryFailures: figures[.outboxDeliveryFailuresTotal].map { Int($0) } ?? (pending != nil ? 0 : nil),
            serverErrors: metricsAnswer == nil ? nil : Int(figures[.httpRequestsTotal] ?? 0)
        )
    }

    func fetch(_ url: String) async -> (status: Int, body: String)? {
        do {
            let response = try await client.tracedExecute(HTTPClientRequest(url: url), timeout: .seconds(2))
            let body = try await response.body.collect(upTo: 4 << 20)
            return (Int(response.status.code), String(buffer: body))
        } catch {
            return nil
        }
    }

    /// The metrics the panel shows, summed over their labels; `http_requests_total` counts only
    /// the answers with a 5xx status (the server errors).
    static let shown: Set<Metric> = [.outboxPendingRows, .outboxOldestPendingSeconds, .outboxDeadRows, .outboxDeliveryFailuresTotal, .httpRequestsTotal]

    static func figures(fromPrometheusText text: String) -> [Metric: Double] {
        var figures: [Metric: Double] = [:]
        for line in text.split(separator: "\n") where !line.hasPrefix("#") {
            guard let space = line.lastIndex(of: " "), let value = Double(line[line.index(after: space)...]) else { continue }
            let series = line[..<space]
            guard let metric = Metric(rawValue: String(series.prefix { $0 != "{" })), shown.contains(metric) else { continue }
            if metric == .httpRequestsTotal && !series.contains("status=\"5") { continue }
            figures[metric, default: 0] += value
        }
        return figures
    }
}

/// Lets `/api/admin/...` through for admins only, as user-service says: the caller's token is
/// checked by `GET /users/me` (signature, expiry, revocation and the current role all at once), so
/// the gateway holds no key and no secret. No token: 401; not an admin: 403.
struct AdminOnlyMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext
    let userService: String
    let client: HTTPClient

    struct Me: Decodable {
        let role: String
    }

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let authorization = request.headers[.authorization] else { throw APIError.unauthorized }
        var me = HTTPClientRequest(url: userService + "/users/me")
        me.headers.add(name: "Authorization", value: authorization)
        me.headers.add(name: "X-Request-ID", value: context.requestID)
        let status: Int
        let body: ByteBuffer
        do {
            let response = try await client.tracedExecute(me, timeout: .seconds(5))
            status = Int(response.status.code)
            body = try await response.body.collect(upTo: 1 << 16)
        } catch {
            throw APIError(.badGateway, code: "upstream_unavailable", message: "The users service is unavailable.")
        }
        switch status {
        case 200:
            guard (try? WireCoding.decoder.decode(Me.self, from: Data(buffer: body)))?.role == "admin" else { throw APIError.forbidden }
            return try await next(request, context)
        case 401:
            // The user service's own reason: invalid_token, token_revoked.
            let code = (try? WireCoding.decoder.decode([String: [String: String]].self, from: Data(buffer: body)))?["error"]?["code"]
            throw code == "token_revoked" ? APIError.tokenRevoked : APIError.invalidToken
        default:
            throw APIError(.badGateway, code: "upstream_unavailable", message: "The users service is unavailable.")
        }
    }
}
