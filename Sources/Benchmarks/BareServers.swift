import ArgumentParser
import AsyncHTTPClient
import Hummingbird
import NIOCore
import NIOHTTP1

/// The framework's own ceiling for `bare_rps`: a Hummingbird JSON route with no middleware, and a
/// Hummingbird reverse proxy in front of it with no middleware either: the same topology as a
/// request through the gateway to a service (`hello_rps`), without anything of ours.
struct BareServer: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bare-server", abstract: "A bare JSON route (GET /hello).")

    @Option var port: Int

    func run() async throws {
        let router = Router()
        let body = ByteBuffer(string: #"{"keys":[{"alg":"ES256","crv":"P-256","kid":"bare","kty":"EC","use":"sig"}]}"#)
        router.get("/hello") { _, _ in
            Response(status: .ok, headers: [.contentType: "application/json"], body: .init(byteBuffer: body))
        }
        try await Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port))).runService()
    }
}

struct BareProxy: AsyncParsableCommand {
    static let configuration = CommandConfiguration(commandName: "bare-proxy", abstract: "A bare reverse proxy to one upstream.")

    @Option var port: Int
    @Option(help: "the upstream base URL") var upstream: String

    func run() async throws {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
        let client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
        let router = Router()
        let upstream = self.upstream
        router.get("/**") { request, _ -> Response in
            let answer = try await client.execute(HTTPClientRequest(url: upstream + request.uri.path), timeout: .seconds(30))
            var headers = HTTPFields()
            if let type = answer.headers.first(name: "content-type") { headers[.contentType] = type }
            return Response(status: .init(code: Int(answer.status.code)), headers: headers, body: ResponseBody(asyncSequence: answer.body))
        }
        try await Application(router: router, configuration: .init(address: .hostname("127.0.0.1", port: port))).runService()
        try await client.shutdown()
    }
}
