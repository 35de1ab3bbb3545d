import FaultInjection
import Gateway
import Hummingbird
import Logging
import Observability
import Outbox
import Persistence
import PlatformConfig
import ServiceLifecycle
import UserService
import CampaignService
import PledgeService
import PaymentService
import NotificationService

/// `careforall serve <role>` and `careforall migrate <service>`.
public enum Roles {
    /// The one service `role` runs as in a container, configured from the environment, with the
    /// trace exporter the environment asks for (first: it stops last).
    public static func makeServices(_ role: ServiceRole, platform: PlatformConfig) async throws -> [any Service] {
        let tracing = try TracingBackend.fromEnvironment(roles: [role], logger: LoggingSetup.logger(service: role.rawValue, level: platform.logLevel))
        return tracing.services + [tracing.traced(try await makeService(role, platform: platform), as: role)]
    }

    static func makeService(_ role: ServiceRole, platform: PlatformConfig) async throws -> any Service {
        switch role {
        case .user:
            return try await UserServiceApp.buildApplication(config: UserServiceConfig(serving: platform))
        case .campaign:
            var config = try CampaignServiceConfig(serving: platform)
            config.deliveryFaults = deliveryFaults(platform)
            return try await CampaignServiceApp.buildApplication(config: config)
        case .pledge:
            var config = try PledgeServiceConfig(serving: platform)
            config.deliveryFaults = deliveryFaults(platform)
            return try await PledgeServiceApp.buildApplication(config: config)
        case .gateway:
            return try await GatewayApp.buildApplication(config: GatewayConfig(platform))
        case .payment:
            var config = try PaymentServiceConfig(serving: platform)
            config.deliveryFaults = deliveryFaults(platform)
            return try await PaymentServiceApp.buildApplication(config: config)
        case .notification:
            return try await NotificationServiceApp.buildApplication(config: NotificationServiceConfig(serving: platform))
        }
    }

    /// The chaos suite's crash between a relay's delivery and its recording, when
    /// `OUTBOX_RELAY_EXIT_AFTER_DELIVERIES` asks for it (`scripts/chaos`); none otherwise.
    static func deliveryFaults(_ platform: PlatformConfig) -> (any DeliveryFaults)? {
        platform.relayExitAfterDeliveries.map(ExitAfterDeliveries.init)
    }

    /// Applies `role`'s migrations to `DATABASE_URL` (or the dev SQLite file) and returns their names.
    public static func migrate(_ role: ServiceRole, platform: PlatformConfig) async throws -> [String] {
        let migrations: [any Migration]
        switch role {
        case .user: migrations = UserServiceApp.migrations
        case .campaign: migrations = CampaignServiceApp.migrations
        case .pledge: migrations = PledgeServiceApp.migrations
        case .gateway: throw RoleError.noDatabase(role)
        case .payment: migrations = PaymentServiceApp.migrations
        case .notification: migrations = NotificationServiceApp.migrations
        }
        let url: DatabaseURL
        if let configured = platform.databaseURL {
            url = try DatabaseURL(configured)
        } else {
            url = try DatabaseURL(DataDirectory(path: platform.dataDirectory).sqliteURL(for: role))
        }
        let logger = LoggingSetup.logger(service: role.rawValue, level: platform.logLevel)
        let migrator = Migrator(service: role.rawValue, migrations: migrations, logger: logger)
        return try await Databases.withClient(url, logger: logger) { client in
            try await migrator.migrate(client)
        }
    }
}

public enum RoleError: Error, CustomStringConvertible {
    case noDatabase(ServiceRole)

    public var description: String {
        switch self {
        case .noDatabase(let role): "\(role.serviceName) has no database to migrate"
        }
    }
}
