// swift-tools-version:6.2
import PackageDescription

// The upcoming features Hummingbird itself enables; strict concurrency is on in Swift 6 mode.
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    .enableUpcomingFeature("MemberImportVisibility"),
]

// What every service builds on: the wire vocabulary, the service kit, and the building blocks
// the kit assembles (each service adds its own few).
let serviceDependencies: [Target.Dependency] = [
    "Contracts", "ServiceKit", "ServiceClient", "PlatformConfig", "Persistence", "Observability", "HTTPSupport", "Auth", "Signatures",
    "Outbox", "Operations",
    .product(name: "Hummingbird", package: "hummingbird"),
    .product(name: "SQLKit", package: "sql-kit"),
    .product(name: "AsyncHTTPClient", package: "async-http-client"),
    .product(name: "Crypto", package: "swift-crypto"),
    .product(name: "NIOCore", package: "swift-nio"),
    .product(name: "NIOFoundationEssentialsCompat", package: "swift-nio"),
    .product(name: "NIOHTTP1", package: "swift-nio"),
    .product(name: "Metrics", package: "swift-metrics"),
    .product(name: "Logging", package: "swift-log"),
    .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
]

let package = Package(
    name: "careforall",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "careforall", targets: ["careforall"]),
        .executable(name: "benchmark", targets: ["Benchmarks"]),
        .executable(name: "careforall-fuzz", targets: ["Fuzzer"]),
    ],
    // Every package at the exact version the tests ran with, so that an image build, which resolves
    // afresh (Package.resolved is not committed), builds what was tested. scripts/containers checks
    // that Package.resolved agrees. To move a package: change its version here, run scripts/test.
    dependencies: [
        .package(url: "https://github.com/hummingbird-project/hummingbird.git", exact: "2.28.1"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth.git", exact: "2.5.0"),
        .package(url: "https://github.com/vapor/jwt-kit.git", exact: "5.8.0"),
        .package(url: "https://github.com/vapor/postgres-nio.git", exact: "1.33.2"),
        .package(url: "https://github.com/vapor/postgres-kit.git", exact: "2.17.0"),
        .package(url: "https://github.com/vapor/sqlite-nio.git", exact: "1.13.2"),
        .package(url: "https://github.com/vapor/sqlite-kit.git", exact: "4.5.2"),
        .package(url: "https://github.com/vapor/sql-kit.git", exact: "3.36.0"),
        .package(url: "https://github.com/apple/swift-configuration.git", exact: "1.4.0", traits: ["CommandLineArguments"]),
        .package(url: "https://github.com/apple/swift-argument-parser.git", exact: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log.git", exact: "1.16.2"),
        .package(url: "https://github.com/apple/swift-metrics.git", exact: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto.git", exact: "4.5.2"),
        .package(url: "https://github.com/apple/swift-nio.git", exact: "2.101.3"),
        .package(url: "https://github.com/apple/swift-nio-ssl.git", exact: "2.37.6"),
        .package(url: "https://github.com/swift-server/swift-prometheus.git", exact: "2.4.1"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", exact: "2.13.0"),
        .package(url: "https://github.com/swift-server/async-http-client.git", exact: "1.37.0"),
        .package(url: "https://github.com/x-sheep/swift-property-based.git", exact: "2.0.1"),
        .package(url: "https://github.com/apple/swift-distributed-tracing.git", exact: "1.7.3"),
        // OTLP over HTTP only: the gRPC exporter's stack is not built.
        .package(url: "https://github.com/swift-otel/swift-otel.git", exact: "1.6.0", traits: ["OTLPHTTP"]),
        // The packages ours depend on, pinned too (nothing imports them directly).
        .package(url: "https://github.com/vapor/async-kit.git", exact: "1.22.0"),
        .package(url: "https://github.com/apple/swift-algorithms.git", exact: "1.2.1"),
        .package(url: "https://github.com/apple/swift-asn1.git", exact: "1.7.4"),
        .package(url: "https://github.com/apple/swift-async-algorithms.git", exact: "1.1.4"),
        .package(url: "https://github.com/apple/swift-atomics.git", exact: "1.3.0"),
        .package(url: "https://github.com/apple/swift-certificates.git", exact: "1.21.1"),
        .package(url: "https://github.com/apple/swift-collections.git", exact: "1.6.0"),
        .package(url: "https://github.com/swift-extras/swift-extras-base64.git", exact: "1.2.0"),
        .package(url: "https://github.com/apple/swift-http-structured-headers.git", exact: "1.7.0"),
        .package(url: "https://github.com/apple/swift-http-types.git", exact: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio-extras.git", exact: "1.35.2"),
        .package(url: "https://github.com/apple/swift-nio-http2.git", exact: "1.46.0"),
        .package(url: "https://github.com/apple/swift-nio-transport-services.git", exact: "1.28.0"),
        .package(url: "https://github.com/apple/swift-numerics.git", exact: "1.1.1"),
        .package(url: "https://github.com/apple/swift-protobuf.git", exact: "1.39.0"),
        .package(url: "https://github.com/apple/swift-service-context.git", exact: "1.5.1"),
        .package(url: "https://github.com/apple/swift-system", exact: "1.8.1"),
        .package(url: "https://github.com/swift-otel/swift-w3c-trace-context.git", exact: "1.0.0"),
    ],
    targets: [
        // MARK: Executable (thin: parse arguments, build, run)
        .executableTarget(
            name: "careforall",
            dependencies: [
                "Platform", "PlatformConfig", "Observability",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Benchmarks (scripts/bench)
        .executableTarget(
            name: "Benchmarks",
            dependencies: [
                "Contracts", "Signatures",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOFoundationEssentialsCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Fuzzing (scripts/fuzz builds it with -sanitize=fuzzer; plainly built, it replays inputs)
        .executableTarget(
            name: "Fuzzer",
            dependencies: ["FuzzTargets"],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "FuzzTargets",
            dependencies: [
                "Contracts", "Signatures", "GatewayPaths",
                .product(name: "JWTKit", package: "jwt-kit"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Assembly of roles (dev mode, serve, migrate)
        .target(
            name: "Platform",
            dependencies: [
                "PlatformConfig", "Persistence", "Observability", "HTTPSupport", "Auth", "Outbox", "FaultInjection",
                "UserService", "CampaignService", "PledgeService", "PaymentService", "NotificationService", "Gateway",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "OTel", package: "swift-otel"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Services
        .target(
            name: "UserService",
            dependencies: serviceDependencies + [.product(name: "HummingbirdBcrypt", package: "hummingbird-auth")],
            resources: [.embedInCode("OpenAPI/openapi.json")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "CampaignService",
            dependencies: serviceDependencies,
            resources: [.embedInCode("OpenAPI/openapi.json")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "PledgeService",
            dependencies: serviceDependencies + ["Idempotency"],
            resources: [.embedInCode("OpenAPI/openapi.json")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "PaymentService",
            dependencies: serviceDependencies + ["Idempotency"],
            resources: [.embedInCode("OpenAPI/openapi.json")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "NotificationService",
            dependencies: serviceDependencies + ["SMTP"],
            resources: [.embedInCode("OpenAPI/openapi.json")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Gateway",
            dependencies: [
                "Contracts", "ServiceClient", "GatewayPaths",
                "PlatformConfig", "Observability", "HTTPSupport", "Auth",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationEssentialsCompat", package: "swift-nio"),
            ],
            // The web UI: plain files, compiled into the binary (no build step, nothing to deploy beside it).
            resources: [.embedInCode("WebUI/index.html"), .embedInCode("WebUI/app.js"), .embedInCode("WebUI/style.css")],
            swiftSettings: swiftSettings
        ),

        // MARK: Building blocks
        // The wire vocabulary: every type that crosses a service boundary, and the one coder for it.
        .target(
            name: "Contracts",
            swiftSettings: swiftSettings
        ),
        // What every service is built from (logger, pools, clock, migrations, verifier, relay, router, application).
        .target(
            name: "ServiceKit",
            dependencies: [
                "Contracts", "Auth", "HTTPSupport", "Observability", "Outbox", "Persistence", "PlatformConfig", "Signatures",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The operator routes every publisher mounts: its outbox for admins, its ledger for reconciliation.
        .target(
            name: "Operations",
            dependencies: [
                "Contracts", "Outbox", "HTTPSupport", "Auth", "Persistence", "Observability", "Signatures",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "NIOFoundationEssentialsCompat", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The chaos suite's hooks, installed by the executable when the harness asks for them.
        .target(
            name: "FaultInjection",
            dependencies: ["Contracts", "Outbox", .product(name: "Logging", package: "swift-log")],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "GatewayPaths",
            swiftSettings: swiftSettings
        ),
        .target(
            name: "PlatformConfig",
            dependencies: [
                "Signatures",
                .product(name: "Configuration", package: "swift-configuration"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Persistence",
            dependencies: [
                "Contracts", "Observability",
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "PostgresKit", package: "postgres-kit"),
                .product(name: "SQLiteNIO", package: "sqlite-nio"),
                .product(name: "SQLiteKit", package: "sqlite-kit"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Observability",
            dependencies: [
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Tracing", package: "swift-distributed-tracing"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "HTTPSupport",
            dependencies: [
                "Contracts", "Observability", "Persistence", "Signatures",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "HummingbirdCore", package: "hummingbird"),
                .product(name: "NIOFoundationEssentialsCompat", package: "swift-nio"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: swiftSettings
        ),
        // The leased queue (the outbox relay, the mail queue) and the outbox's rows; no HTTP framework.
        .target(
            name: "Outbox",
            dependencies: [
                "Contracts", "ServiceClient", "Persistence", "Observability", "Signatures",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "NIOFoundationEssentialsCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // One client per neighbour: campaign and pledge look-ups, signed calls, traced calls.
        .target(
            name: "ServiceClient",
            dependencies: [
                "Contracts", "Signatures", "Observability",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOFoundationEssentialsCompat", package: "swift-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Idempotency",
            dependencies: [
                "Contracts", "HTTPSupport", "Observability", "Persistence", "Signatures",
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "SMTP",
            dependencies: [
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Signatures",
            dependencies: [
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),
        .target(
            name: "Auth",
            dependencies: [
                "Contracts", "ServiceClient", "HTTPSupport", "Signatures",
                .product(name: "JWTKit", package: "jwt-kit"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOFoundationEssentialsCompat", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // MARK: Test support
        .target(
            name: "TestSupport",
            dependencies: [
                "Contracts", "Persistence", "PlatformConfig", "Observability", "HTTPSupport", "ServiceClient",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "NIOFoundationEssentialsCompat", package: "swift-nio"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            path: "Tests/TestSupport",
            swiftSettings: swiftSettings
        ),

        // MARK: Tests
        .testTarget(
            name: "UserServiceTests",
            dependencies: ["Contracts", "UserService", "TestSupport", "Auth", "Persistence", "HTTPSupport", "Signatures", "PlatformConfig",
                           .product(name: "HummingbirdTesting", package: "hummingbird")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CampaignServiceTests",
            dependencies: ["ServiceKit", "Operations", "Outbox", "CampaignService", "TestSupport", "Auth", "Persistence", "HTTPSupport", "Contracts", "Signatures", "ServiceClient",
                           .product(name: "SQLKit", package: "sql-kit"),
                           .product(name: "HummingbirdTesting", package: "hummingbird"),
                           .product(name: "AsyncHTTPClient", package: "async-http-client"),
                           .product(name: "PropertyBased", package: "swift-property-based"),
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PledgeServiceTests",
            dependencies: ["ServiceKit", "ServiceClient", "Operations", "Idempotency", "PledgeService", "Contracts", "TestSupport", "Auth", "HTTPSupport", "Outbox", "Persistence", "Signatures",
                           .product(name: "SQLKit", package: "sql-kit"),
                           .product(name: "HummingbirdTesting", package: "hummingbird")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "NotificationServiceTests",
            dependencies: ["ServiceKit", "Outbox", "Operations", "NotificationService", "SMTP", "Contracts", "TestSupport", "ServiceClient", "Auth", "HTTPSupport", "Persistence", "Signatures", "PlatformConfig",
                           .product(name: "HummingbirdTesting", package: "hummingbird"),
                           .product(name: "NIOFoundationEssentialsCompat", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SMTPTests",
            dependencies: [
                "SMTP",
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOPosix", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FuzzTests",
            dependencies: ["FuzzTargets"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ContractsTests",
            dependencies: ["Contracts"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IdempotencyTests",
            dependencies: ["Idempotency", "TestSupport", "Persistence", .product(name: "SQLKit", package: "sql-kit")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PaymentServiceTests",
            dependencies: ["ServiceKit", "ServiceClient", "Operations", "PaymentService", "Contracts", "Signatures", "Persistence", "TestSupport", "Auth", "HTTPSupport", "Outbox",
                           "Observability", "PlatformConfig",
                           .product(name: "HummingbirdTesting", package: "hummingbird"),
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                           .product(name: "AsyncHTTPClient", package: "async-http-client"),
                           .product(name: "SQLKit", package: "sql-kit")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "OutboxTests",
            dependencies: ["Operations", "ServiceClient", "Outbox", "TestSupport", "Persistence", "Observability", "Contracts", "Signatures", "HTTPSupport",
                           .product(name: "SQLKit", package: "sql-kit"),
                           .product(name: "HummingbirdTesting", package: "hummingbird")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "GatewayTests",
            dependencies: ["Gateway", "GatewayPaths", "TestSupport", "HTTPSupport", "Observability",
                           .product(name: "HummingbirdTesting", package: "hummingbird"),
                           .product(name: "AsyncHTTPClient", package: "async-http-client")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PersistenceTests",
            dependencies: [
                "Contracts", "Persistence", "TestSupport", .product(name: "SQLKit", package: "sql-kit"),
                .product(name: "PostgresNIO", package: "postgres-nio"), .product(name: "SQLiteNIO", package: "sqlite-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SignaturesTests",
            dependencies: ["Signatures"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AuthTests",
            dependencies: ["Auth", "TestSupport", "HTTPSupport",
                           .product(name: "HummingbirdTesting", package: "hummingbird"),
                           .product(name: "JWTKit", package: "jwt-kit"),
                           .product(name: "Crypto", package: "swift-crypto"),
                           .product(name: "NIOConcurrencyHelpers", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HTTPSupportTests",
            dependencies: ["HTTPSupport", "TestSupport", "Observability", "Persistence",
                           .product(name: "SQLKit", package: "sql-kit"),
                           .product(name: "PropertyBased", package: "swift-property-based"),
                           .product(name: "HummingbirdTesting", package: "hummingbird"),
                           .product(name: "NIOConcurrencyHelpers", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "PlatformConfigTests",
            dependencies: ["PlatformConfig"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: ["ServiceClient", "Operations", "Platform", "PlatformConfig", "TestSupport", "Auth", "HTTPSupport", "Signatures", "Outbox", "Contracts",
                           "Persistence", "Observability", "PaymentService", "PledgeService", "CampaignService",
                           .product(name: "AsyncHTTPClient", package: "async-http-client"),
                           .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                           .product(name: "NIOFoundationEssentialsCompat", package: "swift-nio")],
            swiftSettings: swiftSettings
        ),
    ]
)
