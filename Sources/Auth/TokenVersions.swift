import Contracts
import AsyncHTTPClient
import Foundation
import HTTPSupport
import Logging
import NIOCore
import NIOFoundationEssentialsCompat
import ServiceClient
import Signatures
import Synchronization

/// Where a service learns a user's current token version: a token issued under an older one was
/// ended by a logout, a password change or a role change.
public protocol TokenVersionSource: Sendable {
    /// The user's current version; nil when there is no such user (every token of theirs is over).
    func currentVersion(userID: UserID) async throws -> Int?
}

/// Every user at version 0: for tests that do not exercise revocation.
public struct StaticTokenVersions: TokenVersionSource {
    let versions: [UserID: Int]

    public init(_ versions: [UserID: Int] = [:]) {
        self.versions = versions
    }

    public func currentVersion(userID: UserID) async throws -> Int? {
        versions[userID] ?? 0
    }
}

/// user-service's signed internal `GET /users/internal/token-versions/{id}`.
public struct HTTPTokenVersions: TokenVersionSource {
    let baseURL: String
    let signatures: SignatureScheme
    let client: HTTPClient

    public init(userServiceURL: String, signatures: SignatureScheme, client: HTTPClient = .betweenServices) {
        self.baseURL = userServiceURL + "/users/internal/token-versions/"
        self.signatures = signatures
        self.client = client
    }

    public func currentVersion(userID: UserID) async throws -> Int? {
        // Ids are UUIDs; anything else never names a user.
        guard userID.isUUID else { return nil }
        let (status, body) = try await client.getSigned(baseURL + userID.rawValue.lowercased(), signatures: signatures, timeout: .seconds(2))
        switch status {
        case 200: return try WireCoding.decoder.decode(TokenVersion.self, from: Data(buffer: body)).tokenVersion
        case 404: return nil
        default: throw TokenVersionError.unavailable(status: status)
        }
    }
}

enum TokenVersionError: Error {
    case unavailable(status: Int)
}

/// Remembers each user's version for `freshFor` (a revocation takes effect everywhere within
/// that), and keeps answering from a stale entry for up to `staleFor` while user-service cannot
/// be asked. With no entry at all, an unreachable user-service is 503 `token_check_unavailable`:
/// an ended token is never let through for want of an answer.
public final class TokenVersionCache: Sendable {
    struct Entry {
        let version: Int?
        let fetched: ContinuousClock.Instant
    }

    let source: any TokenVersionSource
    let freshFor: Duration
    let staleFor: Duration
    let capacity: Int
    /// Where ages are measured from (a test passes its own clock's).
    let now: @Sendable () -> ContinuousClock.Instant
    private let entries = Mutex<[UserID: Entry]>([:])

    public init(
        source: any TokenVersionSource, freshFor: Duration = .seconds(3), staleFor: Duration = .seconds(300), capacity: Int = 100_000,
        now: @escaping @Sendable () -> ContinuousClock.Instant = { .now }
    ) {
        self.source = source
        self.freshFor = freshFor
        self.staleFor = staleFor
        self.capacity = capacity
        self.now = now
    }

    /// Throws `APIError.tokenRevoked` unless a token of `principal`'s version is still current.
    public func check(_ principal: Principal) async throws {
        let current = try await version(of: principal.userID)
        guard let current, principal.tokenVersion >= current else { throw APIError.tokenRevoked }
    }

    func version(of userID: UserID) async throws -> Int? {
        let now = self.now()
        let cached = entries.withLock { $0[userID] }
        if let cached, now - cached.fetched < freshFor { return cached.version }
        do {
            let version = try await source.currentVersion(userID: userID)
            entries.withLock { entries in
                if entries.count >= capacity { entries.removeAll(keepingCapacity: true) }
                entries[userID] = Entry(version: version, fetched: now)
            }
            return version
        } catch {
            if let cached, now - cached.fetched < staleFor { return cached.version }
            throw APIError.tokenCheckUnavailable
        }
    }
}

extension TokenVerifier {
    /// How every service but user-service checks tokens: user-service's JWKS for the signature,
    /// its token versions (cached a few seconds) for revocation.
    public static func checkingRevocation(jwks: any JWKSSource, versions: any TokenVersionSource, logger: Logger) -> TokenVerifier {
        TokenVerifier(source: jwks, versions: TokenVersionCache(source: versions), logger: logger)
    }

    /// What every service but user-service verifies with: user-service's public keys from
    /// `jwksURL` and its token versions over a signed call (tests give their own `jwks` and `versions`).
    public static func forService(
        jwksURL: String, userServiceURL: String, userSignatures: SignatureScheme, jwks: (any JWKSSource)?, versions: (any TokenVersionSource)?,
        logger: Logger
    ) -> TokenVerifier {
        checkingRevocation(
            jwks: jwks ?? HTTPJWKSSource(url: jwksURL),
            versions: versions ?? HTTPTokenVersions(userServiceURL: userServiceURL, signatures: userSignatures), logger: logger
        )
    }
}
