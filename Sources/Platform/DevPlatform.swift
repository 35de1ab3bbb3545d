import Auth
import Foundation
import Gateway
import Hummingbird
import Logging
import Persistence
import PlatformConfig
import ServiceLifecycle
import UserService
import CampaignService
import PledgeService
import PaymentService
import NotificationService

/// `careforall dev`: the five services and the gateway in one process, on SQLite files
/// in the data folder, with secrets generated on first start and kept there.
public enum DevPlatform {
    /// The services to run together. `announce` receives the lines meant for the person at the
    /// terminal (the URL, the admin credentials); logs go to the log handler as usual.
    public static func makeServices(
        platform: PlatformConfig,
        bcryptCost: UInt8 = 12,
        tracing: TracingBackend? = nil,
        announce: @escaping @Sendable (String) -> Void
    ) async throws -> [any Service] {
        let dataDirectory = try DataDirectory(path: platform.dataDirectory)
        let signingKey = try platform.jwtPrivateKeyPEM
            ?? dataDirectory.secret(named: "jwt-private-key.pem") { TokenKeys.generatePrivateKeyPEM() }
        var secrets = platform.internalSecrets
        if secrets.shared.isEmpty {
            secrets.shared = [try dataDirectory.secret(named: "internal-signing-secret") { DataDirectory.randomSecret() }]
        }

        let adminEmail = platform.adminEmail ?? PlatformConfig.defaultAdminEmail
        let generatedPassword = platform.adminPassword == nil ? DataDirectory.randomPassword() : nil
        let admin = AdminBootstrap(email: adminEmail, password: platform.adminPassword ?? generatedPassword!)

        var userConfig = UserServiceConfig(
            host: platform.host, port: platform.port(for: .user),
            database: try DatabaseURL(dataDirectory.sqliteURL(for: .user)),
            signingKeyPEM: signingKey, accessTokenTTLSeconds: platform.accessTokenTTLSeconds,
            admin: admin, bcryptCost: bcryptCost, secrets: secrets, logLevel: platform.logLevel
        )
        userConfig.previousPublicKeyPEMs = TokenIssuer.pemBlocks(platform.jwtPreviousPublicKeys ?? "")
        userConfig.passwordAttemptsPerMinute = platform.passwordRateLimitPerMinute
        let gatewayURL = "http://localhost:\(platform.port(for: .gateway))"
        let userService = try await UserServiceApp.buildApplication(config: userConfig) { outcome in
            switch outcome {
            case .created(let email):
                if let generatedPassword {
                    announce("Admin account created: \(email) / \(generatedPassword)  (shown once; it is not stored in clear)")
                } else {
                    announce("Admin account created: \(email) (password from ADMIN_PASSWORD)")
                }
            case .alreadyExists(let email):
                announce("Admin account: \(email) (its password was shown when it was first created)")
            }
            announce("CareForAll is running at \(gatewayURL)  (API under \(gatewayURL)/api, Ctrl-C to stop)")
        }
        var campaignConfig = CampaignServiceConfig(platform, database: try DatabaseURL(dataDirectory.sqliteURL(for: .campaign)), secrets: secrets)
        campaignConfig.deliveryFaults = Roles.deliveryFaults(platform)
        let campaignService = try await CampaignServiceApp.buildApplication(config: campaignConfig)
        var pledgeConfig = PledgeServiceConfig(platform, database: try DatabaseURL(dataDirectory.sqliteURL(for: .pledge)), secrets: secrets)
        pledgeConfig.deliveryFaults = Roles.deliveryFaults(platform)
        let pledgeService = try await PledgeServiceApp.buildApplication(config: pledgeConfig)
        let webhookSecret = try platform.stripeWebhookSecret
            ?? dataDirectory.secret(named: "stripe-webhook-secret") { "whsec_" + DataDirectory.randomSecret() }
        var paymentConfig = try PaymentServiceConfig(
            platform, database: try DatabaseURL(dataDirectory.sqliteURL(for: .payment)), secrets: secrets, webhookSecret: webhookSecret
        )
        paymentConfig.deliveryFaults = Roles.deliveryFaults(platform)
        let paymentService = try await PaymentServiceApp.buildApplication(config: paymentConfig)
        var notificationPlatform = platform
        notificationPlatform.notifyAdminEmails = platform.notifyAdminEmails ?? adminEmail
        let notificationService = try await NotificationServiceApp.buildApplication(config: NotificationServiceConfig(
            notificationPlatform, database: try DatabaseURL(dataDirectory.sqliteURL(for: .notification)), secrets: secrets
        ))
        let gateway = try await GatewayApp.buildApplication(config: GatewayConfig(platform))
        announce("Data folder: \(dataDirectory.path)")
        if platform.smtpURL == nil {
            announce("Mail is written to \(dataDirectory.path)/mail as .eml files (set SMTP_URL to send it)")
        }
        let roles: [ServiceRole] = [.user, .campaign, .pledge, .payment, .notification, .gateway]
        let tracing = try tracing ?? TracingBackend.fromEnvironment(roles: roles, logger: Logger(label: "careforall.tracing"))
        if !tracing.tracers.isEmpty { announce("Traces are exported over OTLP/HTTP (OTEL_EXPORTER_OTLP_ENDPOINT)") }
        let services: [any Service] = [userService, campaignService, pledgeService, paymentService, notificationService, gateway]
        // The exporters first: a group stops its services in reverse order, so they flush last.
        return tracing.services + zip(services, roles).map { tracing.traced($0, as: $1) }
    }
}

/// The key generator lives with the issuer; re-exported here so the platform needs no JWT import.
public enum TokenKeys {
    /// A new P-256 private key in PEM, as `JWT_PRIVATE_KEY` takes it.
    public static func generatePrivateKeyPEM() -> String {
        UserServiceApp.generateSigningKeyPEM()
    }
}
