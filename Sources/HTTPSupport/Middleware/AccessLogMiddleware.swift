import Hummingbird
import Logging
import Observability

/// One log line per request, after it completes, with its status and duration. The path is
/// logged without the query string, which may carry a receipt token.
public struct AccessLogMiddleware: RouterMiddleware {
    public typealias Context = AppRequestContext

    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        let start = ContinuousClock.now
        let response = try await next(request, context)
        let milliseconds = (ContinuousClock.now - start).inSeconds * 1000
        context.logger.info(
            "request completed",
            metadata: [
                "method": .string(request.method.rawValue),
                "path": .string(request.uri.path),
                "status": .stringConvertible(response.status.code),
                "duration_ms": .stringConvertible((milliseconds * 100).rounded() / 100),
            ]
        )
        return response
    }
}
