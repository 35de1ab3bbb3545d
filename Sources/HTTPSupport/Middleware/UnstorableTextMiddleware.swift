import Hummingbird

/// A NUL (`%00`) in the path or query is 400 `invalid_text` before any handler runs: PostgreSQL
/// refuses it where it reaches a statement, SQLite would not, and the answer must not depend on
/// the database. (Bodies are checked where they are decoded: `UnstorableText.refuse`.)
public struct UnstorableTextMiddleware: RouterMiddleware {
    public typealias Context = AppRequestContext

    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        try UnstorableText.refuse(target: request.uri.string)
        return try await next(request, context)
    }
}
