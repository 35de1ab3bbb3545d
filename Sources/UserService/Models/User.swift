import Contracts
import Foundation
import HTTPSupport
import Hummingbird

/// A stored user. The password hash never leaves the service: responses use `UserResponse`.
public struct User: Sendable, Equatable {
    public var id: UserID
    public var email: String
    public var name: String
    public var passwordHash: String
    public var role: Role
    public var createdAt: String
    public var updatedAt: String
    /// Raised by a logout, a password change or a role change: tokens issued under a lower one are over.
    public var tokenVersion: Int = 0

    public var principal: Principal {
        Principal(userID: id, email: email, name: name, role: role, tokenVersion: tokenVersion)
    }
}

/// A user as clients see it.
public struct UserResponse: ResponseEncodable, Sendable, Equatable, Decodable {
    public let id: UserID
    public let email: String
    public let name: String
    public let role: Role
    public let createdAt: String

    public init(_ user: User) {
        self.id = user.id
        self.email = user.email
        self.name = user.name
        self.role = user.role
        self.createdAt = user.createdAt
    }
}

/// What register and login answer.
public struct AuthResponse: ResponseEncodable, Sendable, Decodable {
    public let user: UserResponse
    public let accessToken: String
    public let tokenType: String
    public let expiresIn: Int
}

/// Emails are compared trimmed and lowercased.
enum EmailAddress {
    static func normalize(_ raw: String) -> String {
        raw.trimmingCharacters(in: .whitespacesAndNewlines).lowercased()
    }

    /// A pragmatic check: one `@`, something before it, a dot in the domain, no spaces.
    static func isValid(_ email: String) -> Bool {
        guard email.utf8.count <= 254, !email.contains(where: \.isWhitespace) else { return false }
        let parts = email.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty else { return false }
        let domain = parts[1]
        return domain.contains(".") && !domain.hasPrefix(".") && !domain.hasSuffix(".")
    }
}
