import AsyncHTTPClient

extension HTTPClient {
    /// The client for tests that talk to real servers over sockets: a new connection for every
    /// request. Tests start and stop many servers on ports the kernel hands out again, and a
    /// pooled keep-alive connection to a server that has gone could be picked for the next server
    /// on the same port (`remoteConnectionClosed`).
    public static let testing: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.maximumUsesPerConnection = 1
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()
}
