import Auth
import Contracts
import Foundation
import HTTPSupport
import Hummingbird
import Persistence
import Logging
import HTTPTypes
import Observability
import Signatures

/// `/users`: register, login, logout, the caller's own profile and password, the JWKS, and the
/// admin routes. Answers that carry a token are never cached (`Cache-Control: no-store`).
public struct UserController: Sendable {
    let store: any UserStore
    let issuer: TokenIssuer
    let hasher: PasswordHasher
    let decoyHash: String
    let passwordAttempts: PasswordAttempts
    let clock: any StoreClock

    static let minimumPasswordLength = 8
    /// bcrypt reads at most 72 bytes; a longer password would be silently truncated.
    static let maximumPasswordBytes = 72
    static let nameLimit = TextLimit(characters: 200)

    public init(
        store: any UserStore, issuer: TokenIssuer, hasher: PasswordHasher, decoyHash: String, passwordAttempts: PasswordAttempts, clock: any StoreClock
    ) {
        self.store = store
        self.issuer = issuer
        self.hasher = hasher
        self.decoyHash = decoyHash
        self.passwordAttempts = passwordAttempts
        self.clock = clock
    }

    public func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.post("register", use: register)
        group.post("login", use: login)
        group.get(".well-known/jwks.json") { _, _ in issuer.jwks }
        let signedIn = group.group().add(middleware: RequireRoleMiddleware())
        signedIn.get("me", use: me)
        signedIn.post("me/password", use: changePassword)
        signedIn.post("logout", use: logout)
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
        try Self.validate(newPassword: body.password)
        let name = body.name.trimmingCharacters(in: .whitespacesAndNewlines)
        guard !name.isEmpty, Self.nameLimit.allows(name) else { throw UserServiceError.nameRequired }

        let now = clock.timestamp()
        let user = User(
            id: .new(), email: email, name: name,
            passwordHash: try await hasher.hash(body.password), role: .donor, createdAt: now, updatedAt: now
        )
        guard try await store.create(user) else { throw UserServiceError.emailTaken }
        context.logger.info("user registered", metadata: ["user_id": .string(user.id.rawValue)])
        return try await authResponse(for: user, status: .created)
    }

    static func validate(newPassword password: String) throws {
        guard password.count >= minimumPasswordLength else { throw UserServiceError.passwordTooShort(minimum: minimumPasswordLength) }
        guard password.utf8.count <= maximumPasswordBytes else { throw UserServiceError.passwordTooLong(maximum: maximumPasswordBytes) }
    }

    struct LoginRequest: Decodable {
        let email: String
        let password: String
    }

    @Sendable func login(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<AuthResponse> {
        let body = try await request.decode(as: LoginRequest.self, context: context)
        let user = try await store.find(email: EmailAddress.normalize(body.email))
        // An unknown email costs the same bcrypt check as a wrong password, and gets the same answer.
        let matches = try await hasher.verify(body.password, hash: user?.passwordHash ?? decoyHash)
        guard let user, matches else { throw UserServiceError.invalidCredentials }
        return try await authResponse(for: user)
    }

    /// A token for `user`, marked never to be stored by caches on the way.
    func authResponse(for user: User, status: HTTPResponse.Status = .ok) async throws -> EditedResponse<AuthResponse> {
        let answer = AuthResponse(
            user: UserResponse(user),
            accessToken: try await issuer.issue(for: user.principal),
            tokenType: "Bearer",
            expiresIn: Int(issuer.timeToLive)
        )
        return EditedResponse(status: status, headers: [.cacheControl: "no-store"], response: answer)
    }

    // MARK: Ending tokens

    /// Ends every token issued to the caller until now, this one included.
    @Sendable func logout(_ request: Request, context: AppRequestContext) async throws -> Response {
        let principal = try context.requirePrincipal()
        guard try await store.endTokens(id: principal.userID, at: clock.timestamp()) != nil else { throw APIError.invalidToken }
        context.logger.info("user logged out; older tokens ended")
        return Response(status: .noContent, headers: [.cacheControl: "no-store"])
    }

    struct ChangePasswordRequest: Decodable {
        let currentPassword: String
        let newPassword: String
    }

    /// A new password ends every older token; the answer carries a new one.
    @Sendable func changePassword(_ request: Request, context: AppRequestContext) async throws -> EditedResponse<AuthResponse> {
        let principal = try context.requirePrincipal()
        // Per user, wherever the calls come from (the gateways limit per client): each attempt is a bcrypt.
        try passwordAttempts.take(userID: principal.userID)
        let body = try await request.decode(as: ChangePasswordRequest.self, context: context)
        guard let user = try await store.find(id: principal.userID) else { throw APIError.invalidToken }
        guard try await hasher.verify(body.currentPassword, hash: user.passwordHash) else { throw UserServiceError.invalidCredentials }
        try Self.validate(newPassword: body.newPassword)
        guard let updated = try await store.updatePassword(id: user.id, passwordHash: try await hasher.hash(body.newPassword), at: clock.timestamp())
        else { throw APIError.invalidToken }
        context.logger.info("password changed; older tokens ended")
        return try await authResponse(for: updated)
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
        return Page(rows: rows, limit: page.limit, item: UserResponse.init) { PageCursor(sortKey: $0.createdAt, id: $0.id.rawValue) }
    }

    struct UpdateRoleRequest: Decodable {
        let role: String
    }

    @Sendable func updateRole(_ request: Request, context: AppRequestContext) async throws -> UserResponse {
        let id = UserID(try context.parameters.require("id"))
        let body = try await request.decode(as: UpdateRoleRequest.self, context: context)
        guard let role = Role(rawValue: body.role) else { throw UserServiceError.invalidRole }
        guard let user = try await store.updateRole(id: id, role: role, at: clock.timestamp()) else {
            throw UserServiceError.userNotFound
        }
        context.logger.info("user role changed", metadata: ["target_user_id": .string(id.rawValue), "role": .string(role.rawValue)])
        return UserResponse(user)
    }
}

/// The signed route every service asks before trusting a token: the user's current token version.
public struct TokenVersionController: Sendable {
    let store: any UserStore
    let signatures: SignatureScheme
    let metrics: ServiceMetrics

    public init(store: any UserStore, signatures: SignatureScheme, metrics: ServiceMetrics) {
        self.store = store
        self.signatures = signatures
        self.metrics = metrics
    }

    public func addRoutes(to group: RouterGroup<AppRequestContext>) {
        group.get("internal/token-versions/:id", use: show)
    }

    @Sendable func show(_ request: Request, context: AppRequestContext) async throws -> TokenVersion {
        _ = try await request.verifiedBody(scheme: signatures, context: context, metrics: metrics)
        let id = UserID(try context.parameters.require("id"))
        guard let user = try await store.find(id: id) else { throw UserServiceError.userNotFound }
        return TokenVersion(userId: user.id, tokenVersion: user.tokenVersion)
    }
}

/// user-service checks its own tokens' versions straight in its table: a logout takes effect at once.
struct StoreTokenVersions: TokenVersionSource {
    let store: any UserStore

    func currentVersion(userID: UserID) async throws -> Int? {
        try await store.find(id: userID)?.tokenVersion
    }
}

extension JWKSDocument: ResponseEncodable {}

/// How many password changes one user may try: `perMinute` at once, refilled at that rate; 0 is
/// unlimited. In memory, per replica of user-service.
public struct PasswordAttempts: Sendable {
    let limit: RateLimit?
    let limiter = RateLimiter(capacity: 100_000)

    public init(perMinute: Int) {
        limit = perMinute > 0 ? RateLimit(perMinute: Double(perMinute), burst: Double(perMinute)) : nil
    }

    /// One attempt for `userID`, or 429 `rate_limited` with `Retry-After`.
    func take(userID: UserID) throws {
        guard let limit, let wait = limiter.take(userID.rawValue, limit: limit) else { return }
        let seconds = max(1, Int(wait.inSeconds.rounded(.up)))
        var error = APIError(.tooManyRequests, code: "rate_limited", message: "Too many password attempts; try again in \(seconds) s.")
        error.headers[.retryAfter] = String(seconds)
        throw error
    }
}

extension TokenVersion: ResponseEncodable {}
