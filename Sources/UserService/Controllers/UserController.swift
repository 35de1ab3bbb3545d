import Auth
import Foundation
import HTTPSupport
import Hummingbird
import Persistence
import Logging

/// `/users`: register, login, the caller's own profile, the JWKS, and the admin routes.
public struct UserController: Sendable {
    let store: any UserStore
    let issuer: TokenIssuer
    let hasher: PasswordHasher
    let decoyHash: String

    static let minimumPasswordLength = 8
    /// bcrypt reads at most 72 bytes; a longer password would be silently truncated.
    static let maximumPasswordBytes = 72
    static let maximumNameLength = 200

    public init(store: any UserStore, issuer: TokenIssuer, hasher: PasswordHasher, decoyHash: String) {
        self.store = store
        self.issuer = issuer
        self.hasher = hasher
        self.decoyHash = decoyHash
    }

    public func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("register", use: register)
        group.post("login", use: login)
        group.get(".well-known/jwks.json") { _, _ in issuer.jwks }
        group.group("me").add(middleware: RequireRoleMiddleware()).get(use: me)
        let admin = group.group().add(middleware: RequireRoleMiddleware(.admin))
        admin.get(use: list)
        admin.patch(":id", use: updateRole)
    }

    // MARK: Register and log in

    struct RegisterRequest: Decodable {
        let email: String
        let password: String
        let name: String
    }

    @Sendable func register(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<AuthResponse> {
        let body = try await request.decode(as: RegisterRequest.self, context: context)
        let email = EmailAddress.normalize(body.email)
        guard EmailAddress.isValid(email) else { throw UserServiceError.invalidEmail }
        guard body.password.count >= Self.minimumPasswordLength else {
            throw UserServiceError.passwordTooShort(minimum: Self.minimumPasswordLength)
        }
        guard body.password.utf8.count <= Self.maximumPasswordBytes else {
            throw UserServiceError.passwordTooLong(maximum: Self.maximumPasswordBytes)
        }
        let name = body.name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty, name.count <= Self.maximumNameLength else { throw UserServiceError.nameRequired }

        let now = Timestamp.now()
        let user = User(
            id: UUID().uuidString.lowercased(), email: email, name: name,
            passwordHash: try await hasher.hash(body.password), role: .donor, createdAt: now, updatedAt: now
        )
        guard try await store.create(user) else { throw UserServiceError.emailTaken }
        context.logger.info("user registered", metadata: ["user_id": .string(user.id)])
        return try await authResponse(for: user).with(status: .created)
    }

    struct LoginRequest: Decodable {
        let email: String
        let password: String
    }

    @Sendable func login(_ request: Request, context: AppRequestContext) async throws -> AuthResponse {
        let body = try await request.decode(as: LoginRequest.self, context: context)
        let user = try await store.find(email: EmailAddress.normalize(body.email))
        // An unknown email costs the same bcrypt check as a wrong password, and gets the same answer.
        let matches = try await hasher.verify(body.password, hash: user?.passwordHash ?? decoyHash)
        guard let user, matches else { throw UserServiceError.invalidCredentials }
        return try await authResponse(for: user)
    }

    func authResponse(for user: User) async throws -> AuthResponse {
        AuthResponse(
            user: UserResponse(user),
            accessToken: try await issuer.issue(for: user.principal),
            tokenType: "Bearer",
            expiresIn: Int(issuer.timeToLive)
        )
    }

    // MARK: The caller

    @Sendable func me(_ request: Request, context: AppRequestContext) async throws -> UserResponse {
        let principal = try context.requirePrincipal()
        // A token outlives a deleted or unknown account: answer 401 rather than a stale profile.
        guard let user = try await store.find(id: principal.userID) else { throw APIError.invalidToken }
        return UserResponse(user)
    }

    // MARK: Admin

    @Sendable func list(_ request: Request, context: AppRequestContext) async throws -> Page<UserResponse> {
        let page = try PageRequest(request: request)
        let rows = try await store.list(limit: page.limit, after: page.cursor)
        return Page(rows: rows, limit: page.limit, item: UserResponse.init) { PageCursor(sortKey: $0.createdAt, id: $0.id) }
    }

    struct UpdateRoleRequest: Decodable {
        let role: String
    }

    @Sendable func updateRole(_ request: Request, context: AppRequestContext) async throws -> UserResponse {
        let id = try context.parameters.require("id")
        let body = try await request.decode(as: UpdateRoleRequest.self, context: context)
        guard let role = Role(rawValue: body.role) else { throw UserServiceError.invalidRole }
        guard let user = try await store.updateRole(id: id, role: role, at: Timestamp.now()) else {
            throw UserServiceError.userNotFound
        }
        context.logger.info("user role changed", metadata: ["target_user_id": .string(id), "role": .string(role.rawValue)])
        return UserResponse(user)
    }
}

extension JWKSDocument: ResponseEncodable {}
