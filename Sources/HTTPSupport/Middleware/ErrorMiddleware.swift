import HTTPTypes
import Hummingbird
import Observability
import Logging
import NIOHTTP1
import Persistence

/// Turns every error into the JSON error shape. Known errors keep their status and code;
/// Hummingbird's own (unknown route, oversized body) get ours; text PostgreSQL cannot store (a
/// NUL byte) is a 400 `invalid_text` on every route, and so is a body whose framing the HTTP
/// parser refused (400 `bad_request`); anything else is a 500 that
/// names the request id and is logged with the error.
public struct ErrorMiddleware: RouterMiddleware {
    public typealias Context = AppRequestContext

    let metrics: ServiceMetrics

    public init(metrics: ServiceMetrics) {
        self.metrics = metrics
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        do {
            return try await next(request, context)
        } catch {
            let apiError = Self.apiError(for: error, context: context)
            if apiError.status == .internalServerError {
                context.logger.error("unhandled error", metadata: ["error": "\(String(reflecting: error))"])
                UnknownStoredValue.record(error, metrics: metrics, logger: context.logger)
            }
            return APIError.render(status: apiError.status, code: apiError.code, message: apiError.message, headers: apiError.headers)
        }
    }

    static func apiError(for error: any Error, context: Context) -> APIError {
        if let convertible = error as? any APIErrorConvertible {
            return convertible.apiError
        }
        if error is HTTPParserError {
            // The client's framing (a bad chunk, a bare LF): its fault, not ours, and never a 500
            // that would count toward the error-ratio alert.
            return APIError(.badRequest, code: "bad_request", message: "The request's framing cannot be read.")
        }
        if DatabaseRefusal.isUnstorableText(error) {
            return .invalidText
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
