import Foundation
import HTTPTypes
import Hummingbird
import NIOCore
import NIOFoundationEssentialsCompat

/// An error a client sees: a status, a stable machine-readable `code` and a human message,
/// rendered as `{"error": {"code": "...", "message": "..."}}`.
public protocol APIErrorConvertible: Error {
    var apiError: APIError { get }
}

public struct APIError: Error, Sendable, Equatable, APIErrorConvertible, HTTPResponseError {
    public let status: HTTPResponse.Status
    public let code: String
    public let message: String
    /// Extra response headers (`Retry-After` on a 429, say).
    public var headers: HTTPFields

    public init(_ status: HTTPResponse.Status, code: String, message: String, headers: HTTPFields = [:]) {
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers
    }

    public var apiError: APIError { self }

    public func response(from request: Request, context: some RequestContext) throws -> Response {
        Self.render(status: status, code: code, message: message, headers: headers)
    }

    static func render(status: HTTPResponse.Status, code: String, message: String, headers: HTTPFields) -> Response {
        let body = ErrorBody(error: .init(code: code, message: message))
        let data = (try? JSONCoding.encoder.encode(body)) ?? Data(#"{"error":{"code":"internal_error","message":""}}"#.utf8)
        var headers = headers
        headers[.contentType] = "application/json; charset=utf-8"
        return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(data: data)))
    }

    struct ErrorBody: Codable {
        struct Detail: Codable {
            let code: String
            let message: String
        }
        let error: Detail
    }

    // MARK: Errors every service shares

    public static let notFound = APIError(.notFound, code: "not_found", message: "No such resource.")
    public static let payloadTooLarge = APIError(
        .contentTooLarge, code: "payload_too_large", message: "The request body is larger than \(HTTPLimits.maxBodySize) bytes."
    )
    public static let unauthorized = APIError(.unauthorized, code: "unauthorized", message: "Authentication is required.")
    public static let invalidToken = APIError(.unauthorized, code: "invalid_token", message: "The access token is invalid or expired.")
    public static let tokenRevoked = APIError(
        .unauthorized, code: "token_revoked", message: "This access token was ended by a logout, a password change or a role change; sign in again."
    )
    public static let tokenCheckUnavailable = APIError(
        .serviceUnavailable, code: "token_check_unavailable", message: "The access token could not be checked right now; try again."
    )
    public static let forbidden = APIError(.forbidden, code: "forbidden", message: "You are not allowed to do this.")
    public static let invalidText = APIError(
        .badRequest, code: "invalid_text", message: "The request holds text that cannot be stored (a NUL byte or an invalid character)."
    )
    public static let methodNotAllowed = APIError(.methodNotAllowed, code: "method_not_allowed", message: "This method is not allowed here.")

    public static func invalidParameter(_ name: String, _ message: String) -> APIError {
        APIError(.badRequest, code: "invalid_parameter", message: "The parameter '\(name)' \(message).")
    }

    public static func internalError(requestID: String) -> APIError {
        APIError(.internalServerError, code: "internal_error", message: "Something went wrong on our side (request \(requestID)).")
    }
}
