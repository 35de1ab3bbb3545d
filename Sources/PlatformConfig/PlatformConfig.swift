import Configuration
import Foundation

/// Every configuration key of DESIGN.md's table, read once from the command line, the environment
/// and defaults (in that order). Services take the typed slices they need from it.
///
/// Keys are written in swift-configuration's dotted form; the environment provider maps
/// `careforall.data.dir` to `CAREFORALL_DATA_DIR` and the command-line provider to `--careforall-data-dir`.
public struct PlatformConfig: Sendable {
    public var dataDirectory: String
    public var host: String
    public var ports: [ServiceRole: Int]
    /// `serve` mode database; `nil` in dev mode means one SQLite file per service in the data folder.
    public var databaseURL: String?
    public var adminEmail: String?
    public var adminPassword: String?
    public var jwtPrivateKeyPEM: String?
    /// `JWT_PREVIOUS_PUBLIC_KEYS`: PEMs still published in the JWKS after a key rotation.
    public var jwtPreviousPublicKeys: String?
    public var jwksURL: String?
    public var accessTokenTTLSeconds: Int
    /// `INTERNAL_SIGNING_SECRET` and the `<ROLE>_SERVICE_SIGNING_SECRET`s, each `new,old` while rotating.
    public var internalSecrets: InternalSecrets
    public var eventDispatchURL: String?
    /// Explicit `*_SERVICE_URL` values; `serviceURL(for:)` falls back to localhost and the role's port.
    public var serviceURLs: [ServiceRole: String]
    public var paymentProvider: String
    public var stripeAPIKey: String?
    public var stripeAPIBase: String
    public var stripeWebhookSecret: String?
    public var sandboxWebhookChaos: Bool
    /// `OUTBOX_RELAY_EXIT_AFTER_DELIVERIES`, chaos testing only: the process exits between its n-th
    /// delivery and recording it (nil: never).
    public var relayExitAfterDeliveries: Int?
    /// `PUBLIC_BASE_URL`: the platform's public address, the base of links in mail.
    public var publicBaseURL: String
    /// `SMTP_URL` (nil: mail is written as `.eml` files in the data folder), `MAIL_FROM`, and
    /// `NOTIFY_ADMIN_EMAILS` (nil: the bootstrap admin's email).
    public var smtpURL: String?
    public var mailFrom: String
    public var notifyAdminEmails: String?
    /// `RECONCILE_INTERVAL_SECONDS`: campaign-service's reconciliation on its own (0: on demand only).
    public var reconcileIntervalSeconds: Int
    /// Built-in gateway: logins, registrations, pledges and payments per client and minute (0: unlimited).
    public var loginRateLimitPerMinute: Int
    public var registerRateLimitPerMinute: Int
    /// `GATEWAY_PASSWORD_RATE_LIMIT`: password changes per minute, per client at the gateway and
    /// per user at user-service.
    public var passwordRateLimitPerMinute: Int
    public var pledgeRateLimitPerMinute: Int
    public var paymentRateLimitPerMinute: Int
    public var logLevel: String
    public var logFormat: LogFormat

    public enum LogFormat: String, Sendable {
        case json
        case text
    }

    public static let defaultAdminEmail = "admin@careforall.local"

    /// Reads every key from `reader`, applying DESIGN.md's defaults.
    public init(reader: ConfigReader) throws {
        self.dataDirectory = reader.string(forKey: "careforall.data.dir", default: "./.careforall")
        self.host = reader.string(forKey: "host", default: "127.0.0.1")
        var ports: [ServiceRole: Int] = [:]
        for role in ServiceRole.allCases {
            let port = reader.int(forKey: ConfigKey(role.portKey), default: role.defaultPort)
            guard (0...65535).contains(port) else {
                throw ConfigError.invalidValue(key: role.portKey, reason: "port must be between 0 and 65535")
            }
            ports[role] = port
        }
        self.ports = ports
        self.databaseURL = reader.string(forKey: "database.url", isSecret: true)
        self.adminEmail = reader.string(forKey: "admin.email")
        self.adminPassword = reader.string(forKey: "admin.password", isSecret: true)
        self.jwtPrivateKeyPEM = reader.string(forKey: "jwt.private.key", isSecret: true)
        self.jwtPreviousPublicKeys = reader.string(forKey: "jwt.previous.public.keys").flatMap { $0.isEmpty ? nil : $0 }
        self.jwksURL = reader.string(forKey: "jwks.url")
        self.accessTokenTTLSeconds = reader.int(forKey: "access.token.ttl.seconds", default: 900)
        guard self.accessTokenTTLSeconds > 0 else {
            throw ConfigError.invalidValue(key: "access.token.ttl.seconds", reason: "must be positive")
        }
        var perService: [ServiceRole: [String]] = [:]
        for role in ServiceRole.allCases where role != .gateway {
            let secrets = InternalSecrets.list(reader.string(forKey: ConfigKey(role.signingSecretKey), isSecret: true))
            if !secrets.isEmpty { perService[role] = secrets }
        }
        self.internalSecrets = InternalSecrets(
            shared: InternalSecrets.list(reader.string(forKey: "internal.signing.secret", isSecret: true)), perService: perService
        )
        self.eventDispatchURL = reader.string(forKey: "event.dispatch.url")
        var urls: [ServiceRole: String] = [:]
        for role in ServiceRole.allCases where role != .gateway {
            if let url = reader.string(forKey: ConfigKey(role.urlKey)) { urls[role] = url }
        }
        self.serviceURLs = urls
        self.paymentProvider = reader.string(forKey: "payment.provider", default: "sandbox")
        guard ["sandbox", "stripe"].contains(self.paymentProvider) else {
            throw ConfigError.invalidValue(key: "payment.provider", reason: "must be sandbox or stripe")
        }
        self.stripeAPIKey = reader.string(forKey: "stripe.api.key", isSecret: true)
        self.stripeAPIBase = reader.string(forKey: "stripe.api.base", default: "https://api.stripe.com")
        self.stripeWebhookSecret = reader.string(forKey: "stripe.webhook.secret", isSecret: true)
        self.sandboxWebhookChaos = reader.string(forKey: "sandbox.webhook.chaos", default: "0") == "1"
        let exitAfter = reader.string(forKey: "outbox.relay.exit.after.deliveries") ?? ""
        guard exitAfter.isEmpty || (Int(exitAfter) ?? 0) >= 1 else {
            throw ConfigError.invalidValue(key: "outbox.relay.exit.after.deliveries", reason: "must be empty (never) or 1 or more")
        }
        self.relayExitAfterDeliveries = Int(exitAfter)
        self.publicBaseURL = reader.string(forKey: "public.base.url", default: "http://localhost:8080")
        guard publicBaseURL.hasPrefix("http://") || publicBaseURL.hasPrefix("https://") else {
            throw ConfigError.invalidValue(key: "public.base.url", reason: "must be an http(s) address")
        }
        self.smtpURL = reader.string(forKey: "smtp.url", isSecret: true).flatMap { $0.isEmpty ? nil : $0 }
        self.mailFrom = reader.string(forKey: "mail.from", default: "CareForAll <no-reply@careforall.local>")
        self.notifyAdminEmails = reader.string(forKey: "notify.admin.emails").flatMap { $0.isEmpty ? nil : $0 }
        self.reconcileIntervalSeconds = reader.int(forKey: "reconcile.interval.seconds", default: 300)
        guard reconcileIntervalSeconds >= 0 else {
            throw ConfigError.invalidValue(key: "reconcile.interval.seconds", reason: "must be 0 (on demand only) or more")
        }
        func rateLimit(_ key: String, default value: Int) throws -> Int {
            let perMinute = reader.int(forKey: ConfigKey(key), default: value)
            guard perMinute >= 0 else { throw ConfigError.invalidValue(key: key, reason: "a rate limit must be 0 (off) or more") }
            return perMinute
        }
        self.loginRateLimitPerMinute = try rateLimit("gateway.login.rate.limit", default: 10)
        self.registerRateLimitPerMinute = try rateLimit("gateway.register.rate.limit", default: 10)
        self.passwordRateLimitPerMinute = try rateLimit("gateway.password.rate.limit", default: 10)
        self.pledgeRateLimitPerMinute = try rateLimit("gateway.pledge.rate.limit", default: 30)
        self.paymentRateLimitPerMinute = try rateLimit("gateway.payment.rate.limit", default: 30)
        self.logLevel = reader.string(forKey: "log.level", default: "info")
        let format = reader.string(forKey: "log.format", default: "json")
        guard let logFormat = LogFormat(rawValue: format) else {
            throw ConfigError.invalidValue(key: "log.format", reason: "must be json or text")
        }
        self.logFormat = logFormat
    }

    /// The reader the executable uses: command-line flags, then the environment, then defaults.
    public static func makeReader(
        arguments: [String] = [],
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) -> ConfigReader {
        ConfigReader(providers: [
            CommandLineArgumentsProvider(arguments: ["careforall"] + arguments),
            EnvironmentVariablesProvider(environmentVariables: environment),
        ])
    }

    /// Reads the configuration from flags and environment.
    public static func load(
        arguments: [String] = [],
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws -> PlatformConfig {
        try PlatformConfig(reader: makeReader(arguments: arguments, environment: environment))
    }

    public func port(for role: ServiceRole) -> Int {
        ports[role] ?? role.defaultPort
    }

    /// Where other roles reach `role`: the explicit `*_SERVICE_URL`, or localhost on the role's port.
    public func serviceURL(for role: ServiceRole) -> String {
        if let url = serviceURLs[role] { return url }
        return "http://127.0.0.1:\(port(for: role))"
    }

    /// Where services fetch the user-service public keys.
    public var resolvedJWKSURL: String {
        jwksURL ?? serviceURL(for: .user) + "/users/.well-known/jwks.json"
    }
}

public enum ConfigError: Error, CustomStringConvertible, Equatable {
    case invalidValue(key: String, reason: String)
    case missing(key: String)

    public var description: String {
        switch self {
        case .invalidValue(let key, let reason):
            "invalid configuration \(environmentName(key)): \(reason)"
        case .missing(let key):
            "missing configuration \(environmentName(key))"
        }
    }

    private func environmentName(_ key: String) -> String {
        key.uppercased().replacingOccurrences(of: ".", with: "_")
    }
}
