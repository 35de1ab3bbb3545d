import HTTPTypes
import Hummingbird
import Logging
import Persistence

/// Turns every error into the JSON error shape. Known errors keep their status and code;
/// Hummingbird's own (unknown route, oversized body) get ours; text PostgreSQL cannot store (a
/// NUL byte) is a 400 `invalid_text` on every route; anything else is a 500 that
/// names the request id and is logged with the error.
public struct ErrorMiddleware: RouterMiddleware {
    public typealias Context = AppRequestContext

    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let apiError = Self.apiError(for: error, context: context)
            if apiError.status == .internalServerError {
                context.logger.error("unhandled error", metadata: ["error": "\(String(reflecting: error))"])
            }
            return APIError.render(status: apiError.status, code: apiError.code, message: apiError.message, headers: apiError.headers)
        }
    }

    static func apiError(for error: any Error, context: Context) -> APIError {
        if let convertible = error as? any APIErrorConvertible {
            return convertible.apiError
        }
        if DatabaseRefusal.isUnstorableText(error) {
            return APIError(.badRequest, code: "invalid_text", message: "The request holds text that cannot be stored (a NUL byte or an invalid character).")
        }
        if let httpError = error as? HTTPError {
            switch httpError.status {
            case .notFound: return .notFound
            case .contentTooLarge: return .payloadTooLarge
            case .methodNotAllowed: return .methodNotAllowed
            case .unauthorized: return .unauthorized
            case .badRequest:
                return APIError(.badRequest, code: "bad_request", message: httpError.body ?? "The request is malformed.")
            default:
                if httpError.status.code < 500 {
                    return APIError(httpError.status, code: "http_\(httpError.status.code)", message: httpError.body ?? httpError.status.reasonPhrase)
                }
            }
        }
        return .internalError(requestID: context.requestID)
    }
}
