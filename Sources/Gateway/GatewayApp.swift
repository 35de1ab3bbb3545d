import Auth
import Foundation
import HTTPSupport
import Hummingbird
import Logging
import Observability
import PlatformConfig

/// The built-in gateway's configuration: the routing table (first path segment after `/api`
/// to a service base URL) and where to listen.
public struct GatewayConfig: Sendable {
    public var host: String
    public var port: Int
    /// `users` -> `http://127.0.0.1:3004`, ...
    public var routes: [String: String]
    /// Per client: `POST /api/users/login` and `POST /api/pledges`; nil turns a limit off.
    public var loginLimit: RateLimit?
    public var pledgeLimit: RateLimit?
    /// user-service's public keys: the admin status page is for admins.
    public var jwksURL: String
    public var logLevel: String

    public init(
        host: String = "127.0.0.1", port: Int = ServiceRole.gateway.defaultPort, routes: [String: String],
        loginLimit: RateLimit? = RateLimit(perMinute: 10, burst: 10), pledgeLimit: RateLimit? = RateLimit(perMinute: 30, burst: 30),
        jwksURL: String? = nil, logLevel: String = "info"
    ) {
        self.host = host
        self.port = port
        self.routes = routes
        self.jwksURL = jwksURL ?? (routes["users"] ?? "http://127.0.0.1:\(ServiceRole.user.defaultPort)") + "/users/.well-known/jwks.json"
        self.loginLimit = loginLimit
        self.pledgeLimit = pledgeLimit
        self.logLevel = logLevel
    }

    /// The services behind the gateway.
    public static let routedRoles: [ServiceRole] = [.user, .campaign, .pledge, .payment]

    public init(_ platform: PlatformConfig) {
        var routes: [String: String] = [:]
        for role in Self.routedRoles {
            if let segment = role.publicPathSegment { routes[segment] = platform.serviceURL(for: role) }
        }
        func limit(_ perMinute: Int) -> RateLimit? {
            perMinute > 0 ? RateLimit(perMinute: Double(perMinute), burst: Double(perMinute)) : nil
        }
        self.init(
            host: platform.host, port: platform.port(for: .gateway), routes: routes,
            loginLimit: limit(platform.loginRateLimitPerMinute), pledgeLimit: limit(platform.pledgeRateLimitPerMinute),
            jwksURL: platform.resolvedJWKSURL, logLevel: platform.logLevel
        )
    }

    /// The rate-limited routes, as the middleware matches them.
    var rateLimitRules: [String: RateLimit] {
        var rules: [String: RateLimit] = [:]
        if let loginLimit { rules["POST /api/users/login"] = loginLimit }
        if let pledgeLimit { rules["POST /api/pledges"] = pledgeLimit }
        return rules
    }
}

public enum GatewayApp {
    public static func buildApplication(config: GatewayConfig, metrics: ServiceMetrics = ServiceMetrics()) async throws -> some ApplicationProtocol {
        let logger = LoggingSetup.logger(service: "gateway", level: config.logLevel)
        let verifier = TokenVerifier(source: HTTPJWKSSource(url: config.jwksURL), logger: logger)
        let router = buildRouter(
            proxy: ReverseProxy(routes: config.routes), rateLimits: config.rateLimitRules, verifier: verifier, metrics: metrics
        )
        return Application(
            router: router,
            configuration: .init(address: .hostname(config.host, port: config.port), serverName: "careforall-gateway"),
            logger: logger
        )
    }

    public static func buildRouter(
        proxy: ReverseProxy, rateLimits: [String: RateLimit] = [:], limiter: RateLimiter = RateLimiter(), verifier: TokenVerifier? = nil,
        metrics: ServiceMetrics
    ) -> Router<AppRequestContext> {
        // The gateway has no database: it is ready when it is up.
        let router = ServiceRouter.make(service: ServiceRole.gateway.serviceName, version: ServiceRole.gateway.version, metrics: metrics, ready: { true })
        WebUI.addRoutes(to: router)
        let api = router.group("api").add(middleware: RateLimitMiddleware(limiter: limiter, rules: rateLimits, metrics: metrics))
        if let verifier {
            let status = ServiceStatusController(services: proxy.routes, client: proxy.client)
            api.group("admin").add(middleware: AuthMiddleware(verifier: verifier)).add(middleware: RequireRoleMiddleware(.admin))
                .get("status") { request, context in try await status.overview(request, context: context) }
        }
        for method: HTTPRequest.Method in [.get, .post, .put, .patch, .delete, .head, .options] {
            api.on("**", method: method) { request, context in
                try await proxy.forward(request, context: context)
            }
        }
        return router
    }
}
