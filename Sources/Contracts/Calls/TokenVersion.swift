/// `GET /users/internal/token-versions/{id}` (user-service, signed): a user's token version,
/// which every service compares with a token's `ver` claim (a logout, a password or role change
/// raises it and ends the older tokens).
public struct TokenVersion: Codable, Sendable, Equatable {
    public var userId: UserID
    public var tokenVersion: Int

    public init(userId: UserID, tokenVersion: Int) {
        self.userId = userId
        self.tokenVersion = tokenVersion
    }

    enum CodingKeys: String, CodingKey {
        case userId = "user_id", tokenVersion = "token_version"
    }
}
