import AsyncHTTPClient
import NIOCore

extension HTTPClient.Configuration {
    /// How CareForAll calls its own services: fail fast when the other side is down, so the
    /// caller's own retry policy (backoff, 502, 503) applies, instead of retrying the connection
    /// until the request's deadline as the default client does; and keep idle connections for
    /// less than the servers' idle timeout (20 s), so a pooled connection is never one the other
    /// side is about to close.
    public static var betweenServices: HTTPClient.Configuration {
        var configuration = HTTPClient.Configuration()
        configuration.timeout.connect = .seconds(2)
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.connectionPool.idleTimeout = .seconds(10)
        configuration.decompression = .disabled
        return configuration
    }
}

extension HTTPClient {
    /// The one client for calls between CareForAll services (outbox relays, JWKS, token versions,
    /// campaign and pledge lookups). Lives for the whole process, like `.shared`.
    public static let betweenServices = HTTPClient(eventLoopGroupProvider: .singleton, configuration: .betweenServices)
}
