import Contracts
import Foundation
import HTTPSupport
import HTTPTypes
import Hummingbird
import Logging

/// Reads `Authorization: Bearer <token>`. No header: the request goes on as a guest. A header
/// that is not a valid token: 401 `invalid_token`, whatever the route; an ended one (logout,
/// password or role change): 401 `token_revoked`.
public struct AuthMiddleware: RouterMiddleware {
    public typealias Context = AppRequestContext
    let verifier: TokenVerifier

    public init(verifier: TokenVerifier) {
        self.verifier = verifier
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let authorization = request.headers[.authorization] else {
            return try await next(request, context)
        }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        guard parts.count == 2, parts[0].lowercased() == "bearer" else {
            throw APIError.invalidToken
        }
        var context = context
        let principal = try await verifier.authenticate(String(parts[1]).trimmingCharacters(in: .whitespaces))
        context.principal = principal
        context.logger[metadataKey: "user_id"] = .string(principal.userID.rawValue)
        return try await next(request, context)
    }
}

/// Lets a request through only when it carries a valid token (401 `unauthorized` otherwise) and,
/// when a role is named, only for that role (403 `forbidden`).
public struct RequireRoleMiddleware: RouterMiddleware {
    public typealias Context = AppRequestContext
    let role: Role?

    /// - Parameter role: the role required; `nil` for any signed-in user.
    public init(_ role: Role? = nil) {
        self.role = role
    }

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        guard let principal = context.principal else { throw APIError.unauthorized }
        if let role, principal.role != role { throw APIError.forbidden }
        return try await next(request, context)
    }
}

extension AppRequestContext {
    /// The signed-in caller, or 401 `unauthorized`.
    public func requirePrincipal() throws -> Principal {
        guard let principal else { throw APIError.unauthorized }
        return principal
    }
}
