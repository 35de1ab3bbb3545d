import Hummingbird
import HummingbirdCore
import NIOCore

extension HTTPLimits {
    /// A connection that completes no part of a request for this long is closed: a half-sent
    /// request head (slowloris), a stalled body, an idle keep-alive. A response being written
    /// (a live stream) is never cut by it. Clients between services keep idle connections for
    /// less (`HTTPClient.betweenServices`), so they never reuse one the server is closing.
    public static let idleTimeout: TimeAmount = .seconds(20)
}

extension HTTPServerBuilder {
    /// HTTP/1.1 with CareForAll's limits: every service and the gateway serve with it.
    public static var careForAll: HTTPServerBuilder {
        .http1(configuration: .init(idleTimeout: HTTPLimits.idleTimeout))
    }
}
