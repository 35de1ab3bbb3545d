import Auth
import Foundation
import HTTPSupport
import Hummingbird
import Logging
import Observability
import Persistence
import PlatformConfig
import ServiceKit
import ServiceLifecycle
import Signatures

/// Everything user-service needs, typed. Built from `PlatformConfig` by the executable, directly by tests.
public struct UserServiceConfig: ServiceConfiguration {
    public var host: String
    public var port: Int
    public var database: DatabaseURL
    public var signingKeyPEM: String
    /// Public keys (PEM) of signing keys before a rotation, still published in the JWKS.
    public var previousPublicKeyPEMs: [String] = []
    public var accessTokenTTLSeconds: Int
    public var admin: AdminBootstrap?
    public var bcryptCost: UInt8
    /// Verifies the signed token-version route (`USER_SERVICE_SIGNING_SECRET` or the shared secret).
    public var secrets: InternalSecrets
    /// Password changes one user may try per minute (`GATEWAY_PASSWORD_RATE_LIMIT`; 0: unlimited):
    /// a stolen token must not become a way to guess the password.
    public var passwordAttemptsPerMinute: Int = 10
    public var logLevel: String

    public init(
        host: String = "127.0.0.1", port: Int = ServiceRole.user.defaultPort, database: DatabaseURL,
        signingKeyPEM: String, accessTokenTTLSeconds: Int = 900, admin: AdminBootstrap? = nil,
        bcryptCost: UInt8 = 12, secrets: InternalSecrets, logLevel: String = "info"
    ) {
        self.host = host
        self.port = port
        self.database = database
        self.signingKeyPEM = signingKeyPEM
        self.accessTokenTTLSeconds = accessTokenTTLSeconds
        self.admin = admin
        self.bcryptCost = bcryptCost
        self.secrets = secrets
        self.logLevel = logLevel
    }

    /// `serve user`: `DATABASE_URL`, `JWT_PRIVATE_KEY` and a signing secret for calls to it are
    /// required; the admin is optional.
    public init(serving platform: PlatformConfig) throws {
        let database = try platform.servingDatabase(requiring: [.user])
        guard let key = platform.jwtPrivateKeyPEM else { throw ConfigError.missing(key: "jwt.private.key") }
        var admin: AdminBootstrap?
        if let email = platform.adminEmail {
            guard let password = platform.adminPassword else { throw ConfigError.missing(key: "admin.password") }
            admin = AdminBootstrap(email: email, password: password)
        }
        self.init(
            host: platform.host, port: platform.port(for: .user), database: database,
            signingKeyPEM: key, accessTokenTTLSeconds: platform.accessTokenTTLSeconds, admin: admin,
            secrets: platform.internalSecrets, logLevel: platform.logLevel
        )
        previousPublicKeyPEMs = TokenIssuer.pemBlocks(platform.jwtPreviousPublicKeys ?? "")
        passwordAttemptsPerMinute = platform.passwordRateLimitPerMinute
    }
}

public enum UserServiceApp {
    public static let migrations = UserMigrations.all

    /// Builds user-service; the admin is made, if absent, once the migrations are done and before
    /// the server listens. `onAdminBootstrap` hears whether the admin was created.
    public static func buildApplication(
        config: UserServiceConfig,
        overrides: ServiceOverrides = ServiceOverrides(),
        onAdminBootstrap: @escaping @Sendable (AdminBootstrap.Outcome) -> Void = { _ in }
    ) async throws -> some ApplicationProtocol {
        let kit = try await ServiceKit.make(.user, config: config, migrations: migrations, overrides: overrides)
        let metrics = kit.metrics
        let store = SQLUserStore(database: kit.database)
        let hasher = PasswordHasher(cost: config.bcryptCost)
        let issuer = try await TokenIssuer(
            privateKeyPEM: config.signingKeyPEM, previousPublicKeyPEMs: config.previousPublicKeyPEMs, timeToLive: TimeInterval(config.accessTokenTTLSeconds)
        )
        // Its own tokens' versions straight from the table: a logout ends them here at once.
        let verifier = TokenVerifier(
            source: StaticJWKSSource(issuer.jwks), versions: TokenVersionCache(source: StoreTokenVersions(store: store), freshFor: .zero),
            logger: kit.logger
        )
        let router = kit.router(openAPI: PackageResources.openapi_json, verifier: nil)
        addRoutes(
            to: router, store: store, issuer: issuer, verifier: verifier, hasher: hasher, decoyHash: try await hasher.decoyHash(),
            passwordAttempts: PasswordAttempts(perMinute: config.passwordAttemptsPerMinute), signatures: try config.secrets.scheme(for: .user),
            clock: kit.clock, metrics: metrics
        )
        let (admin, logger, clock) = (config.admin, kit.logger, kit.clock)
        return kit.application(router: router) {
            if let admin { onAdminBootstrap(try await admin.run(store: store, hasher: hasher, clock: clock, logger: logger)) }
        }
    }

    /// user-service's own routes, on a router with the shared middleware (tests build one with
    /// parts of their own).
    public static func addRoutes(
        to router: Router<AppRequestContext>, store: any UserStore, issuer: TokenIssuer, verifier: TokenVerifier, hasher: PasswordHasher,
        decoyHash: String, passwordAttempts: PasswordAttempts = PasswordAttempts(perMinute: 10), signatures: SignatureScheme, clock: any StoreClock,
        metrics: ServiceMetrics
    ) {
        let users = router.group("users")
        TokenVersionController(store: store, signatures: signatures, metrics: metrics).addRoutes(to: users)
        let authenticated = router.group("users").add(middleware: AuthMiddleware(verifier: verifier))
        UserController(store: store, issuer: issuer, hasher: hasher, decoyHash: decoyHash, passwordAttempts: passwordAttempts, clock: clock)
            .addRoutes(to: authenticated)
    }
}

extension UserServiceApp {
    /// A new ES256 signing key in PEM, for dev mode's generated key.
    public static func generateSigningKeyPEM() -> String {
        TokenIssuer.generatePrivateKeyPEM()
    }
}
