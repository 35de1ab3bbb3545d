import AsyncHTTPClient
import NIOCore

extension HTTPClient {
    /// The one client for calls between CareForAll services (gateway to services, outbox relays,
    /// JWKS and campaign lookups). It fails fast when the other side is down, so the caller's own
    /// retry policy (backoff, 502, 503) applies, instead of retrying the connection until the
    /// request's deadline as the default client does. Lives for the whole process, like `.shared`.
    public static let betweenServices: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.timeout.connect = .seconds(2)
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.decompression = .disabled
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()
}
