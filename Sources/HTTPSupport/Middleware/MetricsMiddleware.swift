import Hummingbird
import Metrics
import Observability

/// Counts requests by route template, method and status, and records their latency by route:
/// `http_requests_total` and `http_request_duration_seconds`.
public struct HTTPMetricsMiddleware: RouterMiddleware {
    public typealias Context = AppRequestContext
    let metrics: ServiceMetrics

    public init(metrics: ServiceMetrics) {
        self.metrics = metrics
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        // The matched route template keeps label values bounded; unmatched paths share one label.
        let route = context.endpointPath.flatMap { $0 == "NotFound" ? nil : $0 } ?? "unmatched"
        metrics.counter(.httpRequestsTotal, [("route", route), ("method", request.method.rawValue), ("status", String(response.status.code))]).increment()
        // A histogram is a dozen series per label set: by route alone.
        metrics.timer(.httpRequestDurationSeconds, [("route", route)]).recordInterval(since: start)
        return response
    }
}

extension Timer {
    func recordInterval(since start: ContinuousClock.Instant) {
        let elapsed = ContinuousClock.now - start
        let nanoseconds = elapsed.components.seconds * 1_000_000_000 + elapsed.components.attoseconds / 1_000_000_000
        recordNanoseconds(nanoseconds)
    }
}
