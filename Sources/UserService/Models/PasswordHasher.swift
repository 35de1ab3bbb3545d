import HummingbirdBcrypt
import NIOPosix

/// bcrypt, run on NIO's blocking pool so a slow hash never stalls an event loop.
public struct PasswordHasher: Sendable {
    /// bcrypt's work factor; 12 in production, lower in tests where speed matters more.
    public let cost: UInt8

    public init(cost: UInt8 = 12) {
        precondition((4...31).contains(cost), "bcrypt cost must be 4...31")
        self.cost = cost
    }

    public func hash(_ password: String) async throws -> String {
        let cost = self.cost
        return try await NIOThreadPool.singleton.runIfActive { Bcrypt.hash(password, cost: cost) }
    }

    public func verify(_ password: String, hash: String) async throws -> Bool {
        try await NIOThreadPool.singleton.runIfActive { Bcrypt.verify(password, hash: hash) }
    }

    /// A valid hash of a random string, checked against when the email is unknown so that a
    /// wrong email and a wrong password take the same time.
    public func decoyHash() async throws -> String {
        try await hash("decoy-\(UInt64.random(in: 0...UInt64.max))")
    }
}
