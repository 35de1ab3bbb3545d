import Hummingbird
import Observability
import Logging

/// What `/health/ready` checks: the database answers and every migration is applied.
public typealias ReadinessCheck = @Sendable () async throws -> Bool

public enum ServiceRouter {
    /// A router with the middleware every service shares, outermost first: request id, the
    /// request's span, metrics, access log, JSON errors, body limit, no NUL in the target. `/health/live`, `/health/ready`, `/metrics` and
    /// the service's OpenAPI document at `/openapi.json` are added here; the service adds its own routes after.
    public static func make(
        service: String, version: String, metrics: ServiceMetrics, openAPI: [UInt8]? = nil, ready: @escaping ReadinessCheck,
        guarding: (Router<AppRequestContext>) -> Void = { _ in }
    ) -> Router<AppRequestContext> {
        let router = Router(context: AppRequestContext.self)
        router.add(middleware: RequestIDMiddleware())
        router.add(middleware: TracingMiddleware())
        router.add(middleware: HTTPMetricsMiddleware(metrics: metrics))
        router.add(middleware: AccessLogMiddleware())
        router.add(middleware: ErrorMiddleware(metrics: metrics))
        router.add(middleware: BodyLimitMiddleware())
        router.add(middleware: UnstorableTextMiddleware())
        // Middleware a caller adds here covers the health and metrics routes too (a route sees
        // only the middleware added before it).
        guarding(router)
        HealthController(service: service, version: version, metrics: metrics, ready: ready).addRoutes(to: router)
        if let openAPI {
            // The document as written (OpenAPI 3.1, JSON), embedded in the binary.
            router.get("/openapi.json") { _, _ -> Response in
                Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: ByteBuffer(bytes: openAPI)))
            }
        }
        return router
    }
}

/// Liveness, readiness and the Prometheus scrape endpoint.
public struct HealthController: Sendable {
    let service: String
    let version: String
    let metrics: ServiceMetrics
    let ready: ReadinessCheck

    public init(service: String, version: String, metrics: ServiceMetrics, ready: @escaping ReadinessCheck) {
        self.service = service
        self.version = version
        self.metrics = metrics
        self.ready = ready
    }

    public func addRoutes(to router: Router<AppRequestContext>) {
        router.get("/health/live") { _, _ in
            HealthStatus(status: "ok", service: service, version: version)
        }
        router.get("/health/ready") { _, context -> HealthStatus in
            let isReady: Bool
            do {
                isReady = try await ready()
            } catch {
                context.logger.warning("readiness check failed", metadata: ["error": "\(error)"])
                isReady = false
            }
            guard isReady else {
                throw APIError(.serviceUnavailable, code: "not_ready", message: "The database is unreachable or migrations are pending.")
            }
            return HealthStatus(status: "ready", service: service, version: version)
        }
        router.get("/metrics") { _, _ -> Response in
            Response(
                status: .ok,
                headers: [.contentType: "text/plain; version=0.0.4; charset=utf-8"],
                body: .init(byteBuffer: .init(string: metrics.render()))
            )
        }
    }

    struct HealthStatus: ResponseEncodable {
        let status: String
        let service: String
        let version: String
    }
}
