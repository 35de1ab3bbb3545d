import Contracts
import Foundation
import HTTPSupport
import Logging
import Persistence

/// The first admin, created at start when `ADMIN_EMAIL` has no account yet. An existing account
/// is left alone (its password is never reset from configuration).
public struct AdminBootstrap: Sendable {
    public let email: String
    public let password: String

    public init(email: String, password: String) {
        self.email = email
        self.password = password
    }

    public enum Outcome: Sendable, Equatable {
        case created(email: String)
        case alreadyExists(email: String)
    }

    func run(store: any UserStore, hasher: PasswordHasher, clock: any StoreClock, logger: Logger) async throws -> Outcome {
        let email = EmailAddress.normalize(self.email)
        if try await store.find(email: email) != nil {
            return .alreadyExists(email: email)
        }
        let now = clock.timestamp()
        let admin = User(
            id: .new(), email: email, name: "Administrator",
            passwordHash: try await hasher.hash(password), role: .admin, createdAt: now, updatedAt: now
        )
        // Two replicas starting together: the loser's insert is a no-op.
        guard try await store.create(admin) else { return .alreadyExists(email: email) }
        logger.info("bootstrap admin created", metadata: ["user_id": .string(admin.id.rawValue)])
        return .created(email: email)
    }
}
