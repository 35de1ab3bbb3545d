import Foundation
import Signatures

/// The HMAC secrets of calls between services: `INTERNAL_SIGNING_SECRET` for every receiving
/// service, unless one has its own `<ROLE>_SERVICE_SIGNING_SECRET` (then only its senders are
/// given it). Each value may be `new,old` during a rotation: the first signs, both verify.
public struct InternalSecrets: Sendable, Equatable {
    public var shared: [String]
    public var perService: [ServiceRole: [String]]

    public init(shared: [String] = [], perService: [ServiceRole: [String]] = [:]) {
        self.shared = shared
        self.perService = perService
    }

    /// One secret for every service (dev mode, tests).
    public init(shared secret: String) {
        self.init(shared: [secret])
    }

    /// Reads `new,old` lists; empty entries are dropped.
    public static func list(_ value: String?) -> [String] {
        (value ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// The secrets calls to `role` are signed with (the first) and that `role` accepts.
    public func secrets(for role: ServiceRole) -> [String] {
        let own = perService[role] ?? []
        return own.isEmpty ? shared : own
    }

    /// The v2 scheme of calls to `role`, or `ConfigError.missing` naming both keys that could give it.
    public func scheme(for role: ServiceRole) throws -> SignatureScheme {
        let secrets = secrets(for: role)
        guard !secrets.isEmpty else { throw ConfigError.missing(key: "\(role.signingSecretKey) or internal.signing.secret") }
        return SignatureScheme(secrets: secrets)
    }

    /// Throws unless every role in `roles` has a secret: what `serve` checks before starting.
    public func require(_ roles: [ServiceRole]) throws {
        for role in roles { _ = try scheme(for: role) }
    }
}

extension ServiceRole {
    /// `CAMPAIGN_SERVICE_SIGNING_SECRET`, ...: the secret calls to this service are signed with.
    public var signingSecretKey: String {
        "\(rawValue).service.signing.secret"
    }
}
