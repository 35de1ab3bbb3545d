import Foundation
import NIOSSL

/// Where and how to send: parsed from `SMTP_URL`.
///
/// - `smtp://host:587`: STARTTLS when the server offers it; `?starttls=required` refuses a
///   server that does not, `?starttls=never` never asks (a mail catcher on the same machine);
/// - `smtps://host:465`: TLS from the first byte;
/// - `?ca_file=/path/ca.pem` trusts a private CA instead of the system's roots.
///
/// Credentials (`smtp://user:password@host`, percent-decoded) are only ever sent encrypted,
/// unless `?starttls=never` says the connection is trusted as it is.
public struct SMTPConfiguration: Sendable {
    public enum Security: String, Sendable, Equatable {
        /// Plain text throughout (`?starttls=never`).
        case none
        /// STARTTLS if the server offers it, plain text otherwise (and then no credentials).
        case startTLSWhenOffered
        /// STARTTLS, or nothing is sent.
        case startTLSRequired
        /// TLS from the connection's first byte.
        case tls
    }

    public var host: String
    public var port: Int
    public var security: Security
    public var username: String?
    public var password: String?
    /// The name given in EHLO.
    public var heloName: String
    /// How long one whole mail may take, connection to QUIT.
    public var timeout: Duration
    /// The client TLS settings: the system's trust roots unless a test gives its own.
    public var tls: TLSConfiguration

    public init(
        host: String, port: Int, security: Security, username: String? = nil, password: String? = nil, heloName: String = "careforall.local",
        timeout: Duration = .seconds(30), tls: TLSConfiguration = .makeClientConfiguration()
    ) {
        self.host = host
        self.port = port
        self.security = security
        self.username = username
        self.password = password
        self.heloName = heloName
        self.timeout = timeout
        self.tls = tls
    }

    public init(url text: String) throws(SMTPError) {
        guard let url = URLComponents(string: text), let scheme = url.scheme?.lowercased(), let host = url.host, !host.isEmpty else {
            throw .invalidConfiguration("SMTP_URL must look like smtp://user:password@host:587")
        }
        let query = Dictionary((url.queryItems ?? []).map { ($0.name.lowercased(), $0.value ?? "") }, uniquingKeysWith: { $1 })
        switch scheme {
        case "smtps":
            security = .tls
        case "smtp":
            switch query["starttls"]?.lowercased() {
            case nil, "", "offered": security = .startTLSWhenOffered
            case "required": security = .startTLSRequired
            case "never": security = .none
            default: throw .invalidConfiguration("starttls must be offered, required or never")
            }
        default:
            throw .invalidConfiguration("SMTP_URL's scheme must be smtp or smtps")
        }
        self.host = host
        self.port = url.port ?? (security == .tls ? 465 : 587)
        self.username = url.percentEncodedUser.flatMap { $0.removingPercentEncoding }
        self.password = url.percentEncodedPassword.flatMap { $0.removingPercentEncoding }
        if password != nil, username == nil { throw .invalidConfiguration("a password needs a user name") }
        self.heloName = query["helo"].flatMap { $0.isEmpty ? nil : $0 } ?? "careforall.local"
        self.timeout = .seconds(30)
        self.tls = .makeClientConfiguration()
        // A relay whose certificate a private CA signed: trust that CA (and only it).
        if let caFile = query["ca_file"], !caFile.isEmpty {
            guard FileManager.default.isReadableFile(atPath: caFile) else { throw .invalidConfiguration("ca_file \(caFile) cannot be read") }
            tls.trustRoots = .file(caFile)
        }
    }
}

/// Why a mail was not sent.
public enum SMTPError: Error, Equatable, CustomStringConvertible {
    case invalidConfiguration(String)
    /// The server could not be reached, or the connection broke: try again later.
    case connectionFailed(String)
    /// The server answered a command with an error; 4xx is temporary, 5xx permanent.
    case rejected(command: String, code: Int, message: String)
    /// STARTTLS was required (or credentials were to be sent) and the server does not offer it.
    case startTLSUnavailable
    /// Credentials were given and the server offers no AUTH PLAIN.
    case authUnavailable
    case timedOut

    /// Whether trying again later may work.
    public var isTemporary: Bool {
        switch self {
        case .connectionFailed, .timedOut: true
        case .rejected(_, let code, _): code < 500
        case .invalidConfiguration, .startTLSUnavailable, .authUnavailable: false
        }
    }

    public var description: String {
        switch self {
        case .invalidConfiguration(let reason): "invalid SMTP configuration: \(reason)"
        case .connectionFailed(let reason): "SMTP connection failed: \(reason)"
        case .rejected(let command, let code, let message): "SMTP server answered \(command) with \(code) \(message)"
        case .startTLSUnavailable: "the SMTP server does not offer STARTTLS (and neither the settings nor credentials go in clear)"
        case .authUnavailable: "the SMTP server does not offer AUTH PLAIN"
        case .timedOut: "the SMTP conversation timed out"
        }
    }
}
