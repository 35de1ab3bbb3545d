import GatewayPaths
import Foundation
import HTTPSupport
import HTTPTypes
import Hummingbird
import Observability
import Synchronization
import CoreMetrics
import Logging

/// Routes that draw on one more bucket per client together, besides each route's own: login,
/// registration and password change all cost a bcrypt, so one client's bcrypt work is bounded
/// however it spreads its calls over the three.
public struct SharedRateLimit: Sendable, Equatable {
    public var name: String
    public var routes: Set<String>
    public var limit: RateLimit

    public init(name: String, routes: Set<String>, limit: RateLimit) {
        self.name = name
        self.routes = routes
        self.limit = limit
    }
}

/// The gateway's limits per client address (login, registration, password change, pledge and
/// payment creation, and the bcrypt budget the first three share), matched on the normalized path
/// the service will route (`GatewayPath`), so no spelling of a limited route escapes its bucket.
/// 429 `rate_limited` with `Retry-After` (whole seconds) when a client is over.
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    let limiter: RateLimiter
    /// `"POST /users/login"` (below `/api`) -> its limit.
    let rules: [String: RateLimit]
    let shared: [SharedRateLimit]
    let metrics: ServiceMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = try GatewayPath.judging(request.uri.path)
        guard path.folded.first == "api" else { return try await next(request, context) }
        let route = GatewayRules.routeKey(request.method.rawValue, path.droppingFirst)
        var buckets: [(name: String, limit: RateLimit)] = rules[route].map { [(route, $0)] } ?? []
        for budget in shared where budget.routes.contains(route) { buckets.append((budget.name, budget.limit)) }
        guard !buckets.isEmpty else { return try await next(request, context) }
        let client = context.clientAddress ?? "unknown"
        for bucket in buckets {
            guard let wait = limiter.take("\(bucket.name)|\(client)", limit: bucket.limit) else { continue }
            metrics.counter(.rateLimitedTotal, [("route", bucket.name)]).increment()
            let seconds = max(1, Int(wait.inSeconds.rounded(.up)))
            context.logger.info("rate limited", metadata: ["route": .string(bucket.name), "retry_after_s": .stringConvertible(seconds)])
            var error = APIError(.tooManyRequests, code: "rate_limited", message: "Too many requests; try again in \(seconds) s.")
            error.headers[.retryAfter] = String(seconds)
            throw error
        }
        return try await next(request, context)
    }
}
