import HTTPTypes
import Hummingbird

/// Refuses a body whose declared length is over the limit before reading any of it; bodies
/// without a length are cut off by `collect(upTo:)` when decoded.
public struct BodyLimitMiddleware: RouterMiddleware {
    public typealias Context = AppRequestContext
    let limit: Int

    public init(limit: Int = HTTPLimits.maxBodySize) {
        self.limit = limit
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        if let length = request.headers[.contentLength].flatMap(Int.init), length > limit {
            throw APIError.payloadTooLarge
        }
        return try await next(request, context)
    }
}
