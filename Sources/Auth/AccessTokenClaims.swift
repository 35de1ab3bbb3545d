import Contracts
import HTTPSupport
import Foundation
import JWTKit

/// The claims of a CareForAll access token: `sub`, `email`, `name`, `role`, `ver`, `exp`, `iat`.
/// `ver` is the user's token version when the token was issued: a logout, password change or role
/// change raises the version and so ends every token issued before it.
public struct AccessTokenClaims: JWTPayload, Equatable {
    public var sub: SubjectClaim
    public var email: String
    public var name: String
    public var role: String
    /// Absent in tokens issued before versions existed: those count as version 0.
    public var ver: Int?
    public var exp: ExpirationClaim
    public var iat: IssuedAtClaim

    public init(sub: String, email: String, name: String, role: Role, tokenVersion: Int, issuedAt: Date, expiresAt: Date) {
        self.sub = SubjectClaim(value: sub)
        self.email = email
        self.name = name
        self.role = role.rawValue
        self.ver = tokenVersion
        self.iat = IssuedAtClaim(value: issuedAt)
        self.exp = ExpirationClaim(value: expiresAt)
    }

    public func verify(using algorithm: some JWTAlgorithm) async throws {
        try exp.verifyNotExpired()
        guard Role(rawValue: role) != nil else {
            throw JWTError.claimVerificationFailure(failedClaim: nil, reason: "unknown role")
        }
    }

    public var principal: Principal? {
        guard let role = Role(rawValue: role) else { return nil }
        return Principal(userID: UserID(sub.value), email: email, name: name, role: role, tokenVersion: ver ?? 0)
    }
}
