import GatewayPaths
import Foundation
import HTTPSupport
import HTTPTypes
import Hummingbird
import Observability
import Synchronization
import CoreMetrics
import Logging

/// How often one client may call one route: `burst` calls at once, refilled at `perMinute`.
public struct RateLimit: Sendable, Equatable {
    public var perMinute: Double
    public var burst: Double

    public init(perMinute: Double, burst: Double) {
        self.perMinute = perMinute
        self.burst = burst
    }
}

/// Token buckets per (route, client), in memory: each gateway replica limits on its own, which
/// is what per-client protection of login and pledge creation needs.
public final class RateLimiter: Sendable {
    private struct Bucket {
        var tokens: Double
        var updated: ContinuousClock.Instant
    }

    private let buckets = Mutex<[String: Bucket]>([:])
    /// Buckets kept at most; beyond it, full ones (clients gone quiet) are forgotten.
    private let capacity: Int

    public init(capacity: Int = 100_000) {
        self.capacity = capacity
    }

    /// Takes one call from `key`'s bucket; nil when allowed, otherwise how long until one is.
    public func take(_ key: String, limit: RateLimit, now: ContinuousClock.Instant = .now) -> Duration? {
        buckets.withLock { buckets in
            let refillPerSecond = limit.perMinute / 60
            var bucket = buckets[key] ?? Bucket(tokens: limit.burst, updated: now)
            bucket.tokens = min(limit.burst, bucket.tokens + (now - bucket.updated).inSeconds * refillPerSecond)
            bucket.updated = now
            defer {
                buckets[key] = bucket
                if buckets.count > capacity { Self.forgetIdle(&buckets, limit: limit, now: now) }
            }
            if bucket.tokens >= 1 {
                bucket.tokens -= 1
                return nil
            }
            return .milliseconds(Int(((1 - bucket.tokens) / refillPerSecond * 1000).rounded(.up)))
        }
    }

    private static func forgetIdle(_ buckets: inout [String: Bucket], limit: RateLimit, now: ContinuousClock.Instant) {
        let refillTime = Duration.seconds(limit.burst / max(limit.perMinute / 60, 0.0001))
        buckets = buckets.filter { now - $0.value.updated < refillTime }
    }
}

/// The gateway's limits per client address (login, registration, pledge and payment creation),
/// matched on the normalized path the service will route (`GatewayPath`), so no spelling of a
/// limited route escapes its bucket. 429 `rate_limited` with `Retry-After` (whole seconds) when a
/// client is over.
struct RateLimitMiddleware: RouterMiddleware {
    typealias Context = AppRequestContext

    let limiter: RateLimiter
    /// `"POST /users/login"` (below `/api`) -> its limit.
    let rules: [String: RateLimit]
    let metrics: ServiceMetrics

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let path = try GatewayPath.judging(request.uri.path)
        guard path.folded.first == "api" else { return try await next(request, context) }
        let route = GatewayRules.routeKey(request.method.rawValue, path.droppingFirst)
        guard let limit = rules[route] else { return try await next(request, context) }
        let client = context.clientAddress ?? "unknown"
        if let wait = limiter.take("\(route)|\(client)", limit: limit) {
            metrics.counter(.rateLimitedTotal, [("route", route)]).increment()
            let seconds = max(1, Int(wait.inSeconds.rounded(.up)))
            context.logger.info("rate limited", metadata: ["route": .string(route), "retry_after_s": .stringConvertible(seconds)])
            var error = APIError(.tooManyRequests, code: "rate_limited", message: "Too many requests; try again in \(seconds) s.")
            error.headers[.retryAfter] = String(seconds)
            throw error
        }
        return try await next(request, context)
    }
}
