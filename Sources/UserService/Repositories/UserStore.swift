import Contracts
import HTTPSupport
import Persistence

/// Persistence of users.
public protocol UserStore: Sendable {
    /// Inserts `user`; returns false, writing nothing, when the email is already taken.
    func create(_ user: User) async throws -> Bool
    /// The user with this (normalized) email, if any.
    func find(email: String) async throws -> User?
    /// The user with this id, if any.
    func find(id: UserID) async throws -> User?
    /// Users newest first, `limit + 1` rows from after `cursor` (the extra row says a next page exists).
    func list(limit: Int, after cursor: PageCursor?) async throws -> [User]
    /// Sets the role (a change also raises the token version); returns the updated user, or nil
    /// when there is no such user.
    func updateRole(id: UserID, role: Role, at time: String) async throws -> User?
    /// Sets a new password hash and raises the token version; returns the updated user.
    func updatePassword(id: UserID, passwordHash: String, at time: String) async throws -> User?
    /// Raises the token version, ending every token issued before; returns the updated user.
    func endTokens(id: UserID, at time: String) async throws -> User?
}
