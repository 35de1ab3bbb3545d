import Contracts
import AsyncHTTPClient
import ServiceClient
import Foundation
import Synchronization
import HTTPSupport
import JWTKit
import Logging
import NIOCore
import NIOFoundationEssentialsCompat
import NIOHTTP1

/// Where a verifier gets user-service's public keys.
public protocol JWKSSource: Sendable {
    func fetch() async throws -> JWKSDocument
}

/// Fetches the JWKS over HTTP (`JWKS_URL`).
public struct HTTPJWKSSource: JWKSSource {
    let url: String
    let client: HTTPClient

    public init(url: String, client: HTTPClient = .betweenServices) {
        self.url = url
        self.client = client
    }

    public func fetch() async throws -> JWKSDocument {
        let response = try await client.tracedExecute(HTTPClientRequest(url: url), timeout: .seconds(5))
        guard response.status == .ok else { throw JWKSFetchError.status(Int(response.status.code)) }
        let body = try await response.body.collect(upTo: 1 << 16)
        return try WireCoding.decoder.decode(JWKSDocument.self, from: Data(buffer: body))
    }
}

/// A fixed key set: user-service verifies its own tokens without a round trip, tests use it too.
public struct StaticJWKSSource: JWKSSource {
    let document: JWKSDocument

    public init(_ document: JWKSDocument) {
        self.document = document
    }

    public func fetch() async throws -> JWKSDocument { document }
}

enum JWKSFetchError: Error {
    case status(Int)
}

/// Verifies access tokens against user-service's published keys. Keys are cached; a token signed
/// with a key id the cache does not know triggers one refetch (at most once per
/// `minimumRefetchInterval`, so garbage kids cannot hammer user-service).
///
/// With `versions`, a valid token is also checked against its user's current token version, so a
/// logout, a password change or a role change ends it (401 `token_revoked`).
public actor TokenVerifier {
    let source: any JWKSSource
    nonisolated let versions: TokenVersionCache?
    let minimumRefetchInterval: Duration
    let logger: Logger
    private var keys = JWTKeyCollection()
    private var knownKeyIDs: Set<String> = []
    private var lastFetch: ContinuousClock.Instant?
    /// The fetch under way, if any: concurrent requests wait for it instead of finding the
    /// interval not yet over and failing with keys not yet loaded.
    private var fetching: Task<Void, Never>?

    public init(source: any JWKSSource, versions: TokenVersionCache? = nil, minimumRefetchInterval: Duration = .seconds(10), logger: Logger) {
        self.source = source
        self.versions = versions
        self.minimumRefetchInterval = minimumRefetchInterval
        self.logger = logger
    }

    /// The caller a valid token names, after the revocation check: `APIError.invalidToken` for
    /// anything not a valid, unexpired ES256 token signed by one of user-service's keys,
    /// `APIError.tokenRevoked` for one issued before its user's current token version.
    public nonisolated func authenticate(_ token: String) async throws -> Principal {
        let principal = try await verify(token)
        try await versions?.check(principal)
        return principal
    }

    /// The caller a token names, or `APIError.invalidToken` for anything not a valid, unexpired
    /// ES256 token signed by one of user-service's keys. No revocation check.
    public func verify(_ token: String) async throws -> Principal {
        guard let header = Self.header(of: token), header.alg == "ES256", let kid = header.kid else {
            throw APIError.invalidToken
        }
        if !knownKeyIDs.contains(kid) {
            await refresh()
            guard knownKeyIDs.contains(kid) else { throw APIError.invalidToken }
        }
        do {
            let claims = try await keys.verify(token, as: AccessTokenClaims.self)
            guard let principal = claims.principal else { throw APIError.invalidToken }
            return principal
        } catch {
            throw APIError.invalidToken
        }
    }

    private func refresh() async {
        if let fetching {
            await fetching.value
            return
        }
        let now = ContinuousClock.now
        if let lastFetch, now - lastFetch < minimumRefetchInterval { return }
        lastFetch = now
        let fetch = Task { await self.fetchKeys() }
        fetching = fetch
        await fetch.value
        fetching = nil
    }

    private func fetchKeys() async {
        do {
            let document = try await source.fetch()
            let collection = JWTKeyCollection()
            var ids: Set<String> = []
            for key in document.keys where key.kty == "EC" && key.crv == "P-256" {
                let publicKey = try ES256PublicKey(parameters: (x: key.x, y: key.y))
                await collection.add(ecdsa: publicKey, kid: JWKIdentifier(string: key.kid))
                ids.insert(key.kid)
            }
            keys = collection
            knownKeyIDs = ids
        } catch {
            logger.warning("could not fetch the JWKS", metadata: ["error": "\(error)"])
        }
    }

    struct Header: Decodable {
        let alg: String?
        let kid: String?
    }

    /// Headers read before: every token signed with one key has the same header, so it is decoded
    /// once, not on every request (at most `maximumHeaders` different ones are kept).
    static let headers = Mutex<[String: Header]>([:])
    static let maximumHeaders = 64

    static func header(of token: String) -> Header? {
        let parts = token.split(separator: ".", omittingEmptySubsequences: false)
        guard parts.count == 3 else { return nil }
        let segment = String(parts[0])
        if let known = headers.withLock({ $0[segment] }) { return known }
        guard let header = decodeHeader(parts[0]) else { return nil }
        headers.withLock { headers in
            if headers.count >= maximumHeaders { headers.removeAll() }
            headers[segment] = header
        }
        return header
    }

    static func decodeHeader(_ part: Substring) -> Header? {
        var base64 = part.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        base64 += String(repeating: "=", count: (4 - base64.count % 4) % 4)
        guard let data = Data(base64Encoded: base64) else { return nil }
        return try? WireCoding.decoder.decode(Header.self, from: data)
    }
}
