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
    public var logLevel: String

    public init(host: String = "127.0.0.1", port: Int = ServiceRole.gateway.defaultPort, routes: [String: String], logLevel: String = "info") {
        self.host = host
        self.port = port
        self.routes = routes
        self.logLevel = logLevel
    }

    /// The services behind the gateway.
    public static let routedRoles: [ServiceRole] = [.user, .campaign, .pledge, .payment]

    public init(_ platform: PlatformConfig) {
        var routes: [String: String] = [:]
        for role in Self.routedRoles {
            if let segment = role.publicPathSegment { routes[segment] = platform.serviceURL(for: role) }
        }
        self.init(host: platform.host, port: platform.port(for: .gateway), routes: routes, logLevel: platform.logLevel)
    }
}

public enum GatewayApp {
    public static func buildApplication(config: GatewayConfig, metrics: ServiceMetrics = ServiceMetrics()) async throws -> some ApplicationProtocol {
        let logger = LoggingSetup.logger(service: "gateway", level: config.logLevel)
        let router = buildRouter(proxy: ReverseProxy(routes: config.routes), metrics: metrics)
        return Application(
            router: router,
            configuration: .init(address: .hostname(config.host, port: config.port), serverName: "careforall-gateway"),
            logger: logger
        )
    }

    public static func buildRouter(proxy: ReverseProxy, metrics: ServiceMetrics) -> Router<AppRequestContext> {
        // The gateway has no database: it is ready when it is up.
        let router = ServiceRouter.make(metrics: metrics, ready: { true })
        router.get("/") { _, _ in WebUI.indexPage() }
        for method: HTTPRequest.Method in [.get, .post, .put, .patch, .delete, .head, .options] {
            router.on("/api/**", method: method) { request, context in
                try await proxy.forward(request, context: context)
            }
        }
        return router
    }
}
