import Observability
import Synchronization

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
