import HTTPSupport
import HTTPTypes
import Hummingbird

/// The gateway's own `/metrics` and `/health/*` are for the scraper and the orchestrator, which
/// reach the gateway directly. A request that came through a front proxy (nginx, an ingress: it
/// carries `X-Forwarded-For` or `Forwarded`) is the public's, and gets the 404 any unknown path
/// gets. nginx and the Kubernetes ingress refuse these paths themselves too; this is the net
/// under a front proxy that forwards everything.
struct OperationsRoutesGuard: RouterMiddleware {
    typealias Context = AppRequestContext

    static let forwardedFor = HTTPField.Name("X-Forwarded-For")!
    static let forwarded = HTTPField.Name("Forwarded")!

    func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if Self.isOperationsRoute(request.uri.path), request.headers[Self.forwardedFor] != nil || request.headers[Self.forwarded] != nil {
            throw APIError.notFound
        }
        return try await next(request, context)
    }

    /// `/metrics` and `/health/...`, however spelled (case, empty segments).
    static func isOperationsRoute(_ path: String) -> Bool {
        let segments = path.split(separator: "/", omittingEmptySubsequences: true)
        guard let first = segments.first?.lowercased() else { return false }
        return first == "metrics" || first == "health"
    }
}
