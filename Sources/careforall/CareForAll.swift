import ArgumentParser
import Foundation
import Observability
import Platform
import PlatformConfig
import ServiceLifecycle
import Logging
import UnixSignals

@main
struct CareForAll: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "careforall",
        abstract: "CareForAll donation platform.",
        version: Versions.summary,
        subcommands: [Dev.self, Serve.self, Migrate.self, Version.self, GenerateKey.self],
        defaultSubcommand: Dev.self
    )
}

/// Flags the subcommands do not declare are configuration keys (`--gateway-port 9090`), read
/// before the environment.
struct ConfigFlags: ParsableArguments {
    @Argument(parsing: .allUnrecognized, help: "Configuration overrides, e.g. --gateway-port 9090.")
    var overrides: [String] = []

    func load() throws -> PlatformConfig {
        let platform = try PlatformConfig.load(arguments: overrides)
        LoggingSetup.bootstrap(format: platform.logFormat.rawValue, level: platform.logLevel)
        return platform
    }
}

struct Dev: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run the whole platform in one process on SQLite (the default).")
    @OptionGroup var flags: ConfigFlags

    func run() async throws {
        let platform = try flags.load()
        let services = try await DevPlatform.makeServices(platform: platform) { line in
            FileHandle.standardOutput.write(Data((line + "\n").utf8))
        }
        try await runUntilSignalled(services)
    }
}

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Run one role, configured by the environment.")
    @Argument(help: "user, campaign, pledge, payment or gateway (default: $CAREFORALL_ROLE, as the image sets)") var role: ServiceRole?
    @OptionGroup var flags: ConfigFlags

    func run() async throws {
        guard let role = role ?? ProcessInfo.processInfo.environment["CAREFORALL_ROLE"].flatMap(ServiceRole.init(rawValue:)) else {
            throw ValidationError("name a role (user, campaign, pledge, payment, gateway) or set CAREFORALL_ROLE")
        }
        let platform = try flags.load()
        try await runUntilSignalled(try await Roles.makeServices(role, platform: platform))
    }
}

struct Version: ParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Print one service's version (for image tags), or all of them.")
    @Argument(help: "user, campaign, pledge, payment or gateway") var role: ServiceRole?

    func run() {
        FileHandle.standardOutput.write(Data(((role.map(Versions.version(of:)) ?? Versions.summary) + "\n").utf8))
    }
}

struct GenerateKey: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "generate-key", abstract: "Print a new P-256 signing key in PEM, for JWT_PRIVATE_KEY."
    )

    func run() {
        FileHandle.standardOutput.write(Data(TokenKeys.generatePrivateKeyPEM().utf8))
    }
}

struct Migrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(abstract: "Apply one service's migrations and exit.")
    @Argument(help: "user, campaign, pledge or payment") var service: ServiceRole
    @OptionGroup var flags: ConfigFlags

    func run() async throws {
        let platform = try flags.load()
        let applied = try await Roles.migrate(service, platform: platform)
        FileHandle.standardOutput.write(Data("\(service.serviceName): \(applied.count) migration(s) applied\n".utf8))
    }
}

extension ServiceRole: ExpressibleByArgument {}

/// Runs the services until SIGTERM or SIGINT, then shuts them down gracefully.
func runUntilSignalled(_ services: [any Service]) async throws {
    let group = ServiceGroup(
        configuration: .init(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: Logger(label: "careforall"))
    )
    try await group.run()
}
