/// The roles one `careforall` binary can play, with their default ports (DESIGN.md, "Services").
public enum ServiceRole: String, CaseIterable, Sendable {
    case user
    case campaign
    case pledge
    case payment
    case notification
    case gateway

    /// The port a role listens on when nothing overrides it.
    public var defaultPort: Int {
        switch self {
        case .campaign: 3001
        case .payment: 3002
        case .pledge: 3003
        case .user: 3004
        case .notification: 3005
        case .gateway: 8080
        }
    }

    /// The configuration key of the role's port (`USER_SERVICE_PORT`, `GATEWAY_PORT`, ...).
    public var portKey: String {
        self == .gateway ? "gateway.port" : "\(rawValue).service.port"
    }

    /// The configuration key of the URL other roles reach this one at (`USER_SERVICE_URL`, ...).
    public var urlKey: String {
        "\(rawValue).service.url"
    }

    /// The first path segment the gateway routes to this role (`/api/users/...` -> user-service).
    public var publicPathSegment: String? {
        switch self {
        case .user: "users"
        case .campaign: "campaigns"
        case .pledge: "pledges"
        case .payment: "payments"
        case .notification: "notifications"
        case .gateway: nil
        }
    }

    /// The service name used in logs and metrics.
    public var serviceName: String {
        self == .gateway ? "gateway" : "\(rawValue)-service"
    }
}
