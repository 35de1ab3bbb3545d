import Testing
@testable import PlatformConfig

@Suite("Configuration: command line, then environment, then defaults")
struct PlatformConfigTests {
    @Test("with nothing set, every key has DESIGN.md's default")
    func defaults() throws {
        let config = try PlatformConfig.load(arguments: [], environment: [:])
        #expect(config.dataDirectory == "./.careforall")
        #expect(config.host == "127.0.0.1")
        #expect(config.port(for: .gateway) == 8080)
        #expect(config.port(for: .campaign) == 3001)
        #expect(config.port(for: .payment) == 3002)
        #expect(config.port(for: .pledge) == 3003)
        #expect(config.port(for: .user) == 3004)
        #expect(config.databaseURL == nil)
        #expect(config.accessTokenTTLSeconds == 900)
        #expect(config.paymentProvider == "sandbox")
        #expect(config.stripeAPIBase == "https://api.stripe.com")
        #expect(config.sandboxWebhookChaos == false)
        #expect(config.relayExitAfterDeliveries == nil)
        #expect(config.logLevel == "info")
        #expect(config.logFormat == .json)
        #expect(config.serviceURL(for: .user) == "http://127.0.0.1:3004")
        #expect(config.resolvedJWKSURL == "http://127.0.0.1:3004/users/.well-known/jwks.json")
    }

    @Test("the environment names of DESIGN.md's table are read")
    func environment() throws {
        let config = try PlatformConfig.load(environment: [
            "CAREFORALL_DATA_DIR": "/tmp/cfa", "HOST": "0.0.0.0", "GATEWAY_PORT": "9080",
            "USER_SERVICE_PORT": "4004", "CAMPAIGN_SERVICE_PORT": "4001", "PAYMENT_SERVICE_PORT": "4002",
            "PLEDGE_SERVICE_PORT": "4003", "DATABASE_URL": "postgres://u:p@db/users",
            "ADMIN_EMAIL": "root@example.org", "ADMIN_PASSWORD": "s3cret-pass", "JWT_PRIVATE_KEY": "PEM",
            "JWKS_URL": "http://users/jwks", "ACCESS_TOKEN_TTL_SECONDS": "60", "INTERNAL_SIGNING_SECRET": "k",
            "EVENT_DISPATCH_URL": "http://c/campaigns/events", "USER_SERVICE_URL": "http://user:3004",
            "PAYMENT_PROVIDER": "stripe", "STRIPE_API_KEY": "sk_test", "STRIPE_API_BASE": "http://127.0.0.1:8420",
            "STRIPE_WEBHOOK_SECRET": "whsec", "SANDBOX_WEBHOOK_CHAOS": "1", "LOG_LEVEL": "debug", "LOG_FORMAT": "text",
            "CAMPAIGN_SERVICE_SIGNING_SECRET": "new-c, old-c", "GATEWAY_REGISTER_RATE_LIMIT": "5", "GATEWAY_PAYMENT_RATE_LIMIT": "0",
            "OUTBOX_RELAY_EXIT_AFTER_DELIVERIES": "7",
        ])
        #expect(config.dataDirectory == "/tmp/cfa")
        #expect(config.host == "0.0.0.0")
        #expect(config.port(for: .gateway) == 9080)
        #expect(config.port(for: .user) == 4004)
        #expect(config.port(for: .campaign) == 4001)
        #expect(config.port(for: .payment) == 4002)
        #expect(config.port(for: .pledge) == 4003)
        #expect(config.databaseURL == "postgres://u:p@db/users")
        #expect(config.adminEmail == "root@example.org")
        #expect(config.adminPassword == "s3cret-pass")
        #expect(config.jwtPrivateKeyPEM == "PEM")
        #expect(config.resolvedJWKSURL == "http://users/jwks")
        #expect(config.accessTokenTTLSeconds == 60)
        #expect(config.internalSecrets.secrets(for: .pledge) == ["k"])
        #expect(config.internalSecrets.secrets(for: .campaign) == ["new-c", "old-c"], "its own secret, rotating: new first")
        #expect(config.registerRateLimitPerMinute == 5)
        #expect(config.paymentRateLimitPerMinute == 0)
        #expect(config.loginRateLimitPerMinute == 10)
        #expect(config.eventDispatchURL == "http://c/campaigns/events")
        #expect(config.serviceURL(for: .user) == "http://user:3004")
        #expect(config.serviceURL(for: .pledge) == "http://127.0.0.1:4003")
        #expect(config.paymentProvider == "stripe")
        #expect(config.stripeAPIKey == "sk_test")
        #expect(config.stripeAPIBase == "http://127.0.0.1:8420")
        #expect(config.stripeWebhookSecret == "whsec")
        #expect(config.sandboxWebhookChaos)
        #expect(config.relayExitAfterDeliveries == 7)
        #expect(config.logLevel == "debug")
        #expect(config.logFormat == .text)
    }

    @Test("a service without a secret of its own or a shared one is refused at start, naming both keys")
    func missingSecrets() throws {
        let config = try PlatformConfig.load(environment: ["USER_SERVICE_SIGNING_SECRET": "u"])
        #expect(throws: Never.self) { try config.internalSecrets.require([.user]) }
        #expect(throws: ConfigError.missing(key: "campaign.service.signing.secret or internal.signing.secret")) {
            try config.internalSecrets.require([.user, .campaign])
        }
        #expect(throws: ConfigError.self) { try PlatformConfig.load(environment: ["GATEWAY_REGISTER_RATE_LIMIT": "-1"]) }
    }

    @Test("a command-line flag wins over the environment")
    func commandLineFirst() throws {
        let config = try PlatformConfig.load(arguments: ["--gateway-port", "7070"], environment: ["GATEWAY_PORT": "9080"])
        #expect(config.port(for: .gateway) == 7070)
    }

    @Test("bad values are refused with the key's name")
    func invalid() {
        #expect(throws: ConfigError.invalidValue(key: "gateway.port", reason: "port must be between 0 and 65535")) {
            try PlatformConfig.load(environment: ["GATEWAY_PORT": "70000"])
        }
        #expect(throws: ConfigError.self) { try PlatformConfig.load(environment: ["LOG_FORMAT": "xml"]) }
        #expect(throws: ConfigError.self) { try PlatformConfig.load(environment: ["PAYMENT_PROVIDER": "paypal"]) }
        #expect(throws: ConfigError.self) { try PlatformConfig.load(environment: ["ACCESS_TOKEN_TTL_SECONDS": "0"]) }
        #expect(throws: ConfigError.self) { try PlatformConfig.load(environment: ["OUTBOX_RELAY_EXIT_AFTER_DELIVERIES": "0"]) }
        #expect(throws: ConfigError.self) { try PlatformConfig.load(environment: ["OUTBOX_RELAY_EXIT_AFTER_DELIVERIES": "soon"]) }
        #expect(ConfigError.missing(key: "database.url").description == "missing configuration DATABASE_URL")
    }
}
