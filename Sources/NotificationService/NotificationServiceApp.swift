import Auth
import Foundation
import HTTPSupport
import Hummingbird
import Logging
import Observability
import Outbox
import Persistence
import PlatformConfig
import ServiceClient
import ServiceKit
import ServiceLifecycle
import Signatures
import SMTP

/// Everything notification-service needs, typed.
public struct NotificationServiceConfig: TokenCheckingConfiguration {
    public var host: String
    public var port: Int
    public var database: DatabaseURL
    /// Verifies the events sent to notification-service (its own secret) and signs token-version
    /// checks to user-service (theirs).
    public var secrets: InternalSecrets
    public var jwksURL: String
    public var userServiceURL: String
    /// campaign-service: the titles of campaigns, for the mail's words.
    public var campaignServiceURL: String?
    /// `SMTP_URL`; nil writes each mail as an `.eml` file in `mailDirectory` instead.
    public var smtpURL: String?
    public var mailDirectory: String
    /// `MAIL_FROM`.
    public var from: MailAddress
    /// `NOTIFY_ADMIN_EMAILS`.
    public var adminEmails: [MailAddress]
    /// `PUBLIC_BASE_URL`: the base of links in mail.
    public var publicBaseURL: String
    public var dispatcher: MailDispatcherConfig
    public var logLevel: String

    public init(
        host: String = "127.0.0.1", port: Int = ServiceRole.notification.defaultPort, database: DatabaseURL, secrets: InternalSecrets,
        jwksURL: String, userServiceURL: String = "http://127.0.0.1:\(ServiceRole.user.defaultPort)", smtpURL: String? = nil,
        mailDirectory: String, from: MailAddress, adminEmails: [MailAddress], publicBaseURL: String = "http://localhost:8080",
        dispatcher: MailDispatcherConfig = MailDispatcherConfig(), logLevel: String = "info"
    ) {
        self.host = host
        self.port = port
        self.database = database
        self.secrets = secrets
        self.jwksURL = jwksURL
        self.userServiceURL = userServiceURL
        self.campaignServiceURL = nil
        self.smtpURL = smtpURL
        self.mailDirectory = mailDirectory
        self.from = from
        self.adminEmails = adminEmails
        self.publicBaseURL = publicBaseURL
        self.dispatcher = dispatcher
        self.logLevel = logLevel
    }

    /// From the platform configuration; `database` is given by the caller (dev: a SQLite file).
    public init(_ platform: PlatformConfig, database: DatabaseURL, secrets: InternalSecrets) throws {
        guard let from = MailAddress.parse(platform.mailFrom) else {
            throw ConfigError.invalidValue(key: "mail.from", reason: "must be an address, or a name and <address>")
        }
        var admins: [MailAddress] = []
        for entry in InternalSecrets.list(platform.notifyAdminEmails ?? platform.adminEmail ?? PlatformConfig.defaultAdminEmail) {
            guard let address = MailAddress(entry) else {
                throw ConfigError.invalidValue(key: "notify.admin.emails", reason: "'\(entry)' is not an address")
            }
            admins.append(address)
        }
        if let url = platform.smtpURL {
            do {
                _ = try SMTPConfiguration(url: url)
            } catch {
                throw ConfigError.invalidValue(key: "smtp.url", reason: "\(error)")
            }
        }
        self.init(
            host: platform.host, port: platform.port(for: .notification), database: database, secrets: secrets, jwksURL: platform.resolvedJWKSURL,
            userServiceURL: platform.serviceURL(for: .user), smtpURL: platform.smtpURL,
            mailDirectory: URL(fileURLWithPath: platform.dataDirectory).appendingPathComponent("mail").path, from: from, adminEmails: admins,
            publicBaseURL: platform.publicBaseURL, logLevel: platform.logLevel
        )
        self.campaignServiceURL = platform.serviceURL(for: .campaign)
    }

    /// `serve notification`: `DATABASE_URL` and the signing secrets of notification- and user-service are required.
    public init(serving platform: PlatformConfig) throws {
        let database = try platform.servingDatabase(requiring: [.notification, .user])
        try self.init(platform, database: database, secrets: platform.internalSecrets)
    }
}

public enum NotificationServiceApp {
    public static let migrations = NotificationMigrations.all

    /// Builds notification-service with its mail dispatcher. Tests pass their own key set and, if
    /// they like, their own transport, campaign titles and clock.
    public static func buildApplication(
        config: NotificationServiceConfig,
        transport: (any MailTransport)? = nil,
        campaigns: (any CampaignDirectory)? = nil,
        overrides: ServiceOverrides = ServiceOverrides()
    ) async throws -> some ApplicationProtocol {
        let kit = try await ServiceKit.make(.notification, config: config, migrations: migrations, overrides: overrides)
        let metrics = kit.metrics
        let signal = QueueSignal()
        let mailTransport: any MailTransport
        if let transport {
            mailTransport = transport
        } else if let url = config.smtpURL {
            mailTransport = SMTPMailTransport(configuration: try SMTPConfiguration(url: url))
        } else {
            kit.logger.notice("no SMTP_URL: mail is written as .eml files", metadata: ["directory": .string(config.mailDirectory)])
            mailTransport = FileMailTransport(directory: config.mailDirectory)
        }
        let dispatcher = MailDispatcher(
            database: kit.background, transport: mailTransport, from: config.from, signal: signal, clock: kit.clock, config: config.dispatcher,
            metrics: metrics, logger: kit.logger
        )
        let router = kit.router(
            openAPI: PackageResources.openapi_json,
            verifier: try kit.verifier(config)
        )
        addRoutes(
            to: router, store: SQLNotificationStore(database: kit.database),
            composer: MailComposer(publicBaseURL: config.publicBaseURL, adminEmails: config.adminEmails),
            campaigns: campaigns ?? config.campaignServiceURL.map { HTTPCampaignDirectory(baseURL: $0, freshness: .titles) },
            messageDomain: String(config.from.address.split(separator: "@").last ?? "careforall.local"),
            signatures: try config.secrets.scheme(for: .notification), signal: signal, clock: kit.clock, metrics: metrics
        )
        return kit.application(router: router, workers: [dispatcher])
    }

    /// notification-service's own routes, on a router with the shared middleware (tests build
    /// one with parts of their own).
    public static func addRoutes(
        to router: Router<AppRequestContext>, store: any NotificationStore, composer: MailComposer, campaigns: (any CampaignDirectory)?,
        messageDomain: String, signatures: SignatureScheme, signal: QueueSignal, clock: any StoreClock, metrics: ServiceMetrics
    ) {
        let notifications = router.group("notifications")
        NotificationEventsController(
            store: store, composer: composer, campaigns: campaigns, messageDomain: messageDomain, signatures: signatures, signal: signal,
            clock: clock, metrics: metrics
        ).addRoutes(to: notifications)
        NotificationAdminController(store: store, signal: signal, clock: clock).addRoutes(to: notifications)
    }
}

extension MailAddress {
    /// `Name <address>` or a bare `address`.
    public static func parse(_ text: String) -> MailAddress? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        guard let open = trimmed.lastIndex(of: "<"), trimmed.hasSuffix(">") else { return MailAddress(trimmed) }
        let name = trimmed[..<open].trimmingCharacters(in: .whitespaces).trimmingCharacters(in: CharacterSet(charactersIn: "\""))
        return MailAddress(String(trimmed[trimmed.index(after: open)..<trimmed.index(before: trimmed.endIndex)]), name: name.isEmpty ? nil : name)
    }
}
