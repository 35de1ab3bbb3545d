import Foundation

/// Where a service keeps its data: `postgres://user:password@host:port/database` or `sqlite:///absolute/path`.
public enum DatabaseURL: Sendable, Equatable, CustomStringConvertible {
    case postgres(host: String, port: Int, username: String, password: String?, database: String)
    case sqlite(path: String)

    public init(_ string: String) throws {
        if string.hasPrefix("sqlite://") {
            let path = String(string.dropFirst("sqlite://".count))
            guard !path.isEmpty else { throw DatabaseURLError.invalid("sqlite URL needs a path: sqlite:///path/to/file") }
            self = .sqlite(path: path)
            return
        }
        guard let components = URLComponents(string: string),
            let scheme = components.scheme, ["postgres", "postgresql"].contains(scheme)
        else {
            throw DatabaseURLError.invalid("expected postgres://... or sqlite:///...")
        }
        guard let host = components.host, !host.isEmpty else { throw DatabaseURLError.invalid("postgres URL needs a host") }
        let database = String(components.path.drop(while: { $0 == "/" }))
        guard !database.isEmpty else { throw DatabaseURLError.invalid("postgres URL needs a database name") }
        self = .postgres(
            host: host,
            port: components.port ?? 5432,
            username: components.user?.removingPercentEncoding ?? "postgres",
            password: components.password?.removingPercentEncoding,
            database: database
        )
    }

    public var kind: DatabaseKind {
        switch self {
        case .postgres: .postgres
        case .sqlite: .sqlite
        }
    }

    /// Safe to log: never includes the password.
    public var description: String {
        switch self {
        case .postgres(let host, let port, let username, _, let database):
            "postgres://\(username)@\(host):\(port)/\(database)"
        case .sqlite(let path):
            "sqlite://\(path)"
        }
    }
}

public struct DatabaseURLError: Error, CustomStringConvertible {
    public let description: String
    static func invalid(_ reason: String) -> Self { .init(description: "invalid DATABASE_URL: \(reason)") }
}

/// The two SQL dialects we run on. Code that must differ switches on this in one place.
public enum DatabaseKind: String, Sendable, CaseIterable {
    case postgres
    case sqlite
}
