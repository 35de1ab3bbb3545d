/// Semantic versions. Each service has its own, bumped when its routes, events or behaviour
/// change (CHANGELOG.md says what changed); the CI workflow tags its image with it. The platform
/// version is the `careforall` binary's, which carries every role.
public enum Versions {
    public static let platform = "0.11.0"

    public static func version(of role: ServiceRole) -> String {
        switch role {
        case .user: "0.5.1"
        case .campaign: "0.7.1"
        case .pledge: "0.8.1"
        case .payment: "0.6.1"
        case .notification: "0.2.2"
        case .gateway: "0.6.1"
        }
    }

    /// `careforall --version`: the platform and every service.
    public static var summary: String {
        "careforall \(platform) (" + ServiceRole.allCases.map { "\($0.rawValue) \(version(of: $0))" }.joined(separator: ", ") + ")"
    }
}

extension ServiceRole {
    public var version: String { Versions.version(of: self) }
}
