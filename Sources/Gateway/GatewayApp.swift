import AsyncHTTPClient
import Foundation
import HTTPSupport
import Hummingbird
import Logging
import Observability
import PlatformConfig

/// The built-in gateway's configuration: the routing table (first path segment after `/api`
/// to a service base URL), the per-client limits, and where to listen.
public struct GatewayConfig: Sendable {
    public var host: String
    public var port: Int
    /// `users` -> `http://127.0.0.1:3004`, ...
    public var routes: [String: String]
    /// Per client, on `"POST /users/login"`-style keys (below `/api`); a missing key is unlimited.
    public var rateLimits: [String: RateLimit]
    /// Per client, over several routes together (the bcrypt budget).
    public var sharedRateLimits: [SharedRateLimit]
    /// Live streams one client may hold, and all clients together.
    public var streamsPerClient: Int
    public var maximumStreams: Int
    public var logLevel: String

    public static let defaultStreamsPerClient = 6
    public static let defaultMaximumStreams = 1000

    public init(
        host: String = "127.0.0.1", port: Int = ServiceRole.gateway.defaultPort, routes: [String: String],
        rateLimits: [String: RateLimit] = GatewayConfig.rateLimits(login: 10, register: 10, password: 10, pledges: 30, payments: 30),
        sharedRateLimits: [SharedRateLimit] = GatewayConfig.bcryptBudget(login: 10, register: 10, password: 10),
        streamsPerClient: Int = GatewayConfig.defaultStreamsPerClient, maximumStreams: Int = GatewayConfig.defaultMaximumStreams,
        logLevel: String = "info"
    ) {
        self.host = host
        self.port = port
        self.routes = routes
        self.rateLimits = rateLimits
        self.sharedRateLimits = sharedRateLimits
        self.streamsPerClient = streamsPerClient
        self.maximumStreams = maximumStreams
        self.logLevel = logLevel
    }

    /// The services behind the gateway.
    public static let routedRoles: [ServiceRole] = [.user, .campaign, .pledge, .payment, .notification]

    public init(_ platform: PlatformConfig) {
        var routes: [String: String] = [:]
        for role in Self.routedRoles {
            if let segment = role.publicPathSegment { routes[segment] = platform.serviceURL(for: role) }
        }
        self.init(
            host: platform.host, port: platform.port(for: .gateway), routes: routes,
            rateLimits: Self.rateLimits(
                login: platform.loginRateLimitPerMinute, register: platform.registerRateLimitPerMinute,
                password: platform.passwordRateLimitPerMinute, pledges: platform.pledgeRateLimitPerMinute,
                payments: platform.paymentRateLimitPerMinute
            ),
            sharedRateLimits: Self.bcryptBudget(
                login: platform.loginRateLimitPerMinute, register: platform.registerRateLimitPerMinute, password: platform.passwordRateLimitPerMinute
            ),
            logLevel: platform.logLevel
        )
    }

    /// Requests per minute per client on login, registration, password change, pledge and
    /// payment creation (bursts of as many); 0 turns one off.
    public static func rateLimits(login: Int, register: Int, password: Int, pledges: Int, payments: Int) -> [String: RateLimit] {
        var rules: [String: RateLimit] = [:]
        for (route, perMinute) in [
            ("POST /users/login", login), ("POST /users/register", register), ("POST /users/me/password", password),
            ("POST /pledges", pledges), ("POST /payments", payments),
        ] where perMinute > 0 {
            rules[route] = RateLimit(perMinute: Double(perMinute), burst: Double(perMinute))
        }
        return rules
    }

    /// Login, registration and password change each run one bcrypt: per client they also share
    /// one bucket, as large as the largest of their own limits, so spreading calls over the three
    /// buys no more CPU than one route's limit. Off when all three are off.
    public static func bcryptBudget(login: Int, register: Int, password: Int) -> [SharedRateLimit] {
        let limited = [("POST /users/login", login), ("POST /users/register", register), ("POST /users/me/password", password)].filter { $0.1 > 0 }
        guard let largest = limited.map(\.1).max() else { return [] }
        return [SharedRateLimit(name: "bcrypt", routes: Set(limited.map(\.0)), limit: RateLimit(perMinute: Double(largest), burst: Double(largest)))]
    }
}

public enum GatewayApp {
    public static func buildApplication(config: GatewayConfig, metrics: ServiceMetrics = ServiceMetrics()) async throws -> some ApplicationProtocol {
        let logger = LoggingSetup.logger(service: "gateway", level: config.logLevel)
        let proxy = ReverseProxy(routes: config.routes, streams: StreamSlots(perClient: config.streamsPerClient, total: config.maximumStreams))
        let router = buildRouter(proxy: proxy, rateLimits: config.rateLimits, sharedRateLimits: config.sharedRateLimits, metrics: metrics)
        return Application(
            router: router,
            server: .careForAll,
            configuration: .init(address: .hostname(config.host, port: config.port), serverName: "careforall-gateway"),
            logger: logger
        )
    }

    public static func buildRouter(
        proxy: ReverseProxy, rateLimits: [String: RateLimit] = [:], sharedRateLimits: [SharedRateLimit] = [], limiter: RateLimiter = RateLimiter(),
        metrics: ServiceMetrics
    ) -> Router<AppRequestContext> {
        // The gateway has no database: it is ready when it is up.
        let router = ServiceRouter.make(
            service: ServiceRole.gateway.serviceName, version: ServiceRole.gateway.version, metrics: metrics, ready: { true },
            guarding: { $0.add(middleware: OperationsRoutesGuard()) }
        )
        WebUI.addRoutes(to: router)
        let api = router.group("api").add(middleware: RateLimitMiddleware(limiter: limiter, rules: rateLimits, shared: sharedRateLimits, metrics: metrics))
        if let users = proxy.routes["users"] {
            let status = ServiceStatusController(services: proxy.routes, client: proxy.client)
            api.group("admin").add(middleware: AdminOnlyMiddleware(userService: users, client: proxy.client))
                .get("status") { request, context in try await status.overview(request, context: context) }
        }
        OpenAPIDocuments(services: proxy.routes, client: proxy.client).addRoutes(to: api)
        for method: HTTPRequest.Method in [.get, .post, .put, .patch, .delete, .head, .options] {
            api.on("**", method: method) { request, context in
                try await proxy.forward(request, context: context)
            }
        }
        return router
    }
}
