import Contracts
import Crypto
import Signatures
import Foundation

/// Guest receipt tokens: 256 random bits, base64url; services keep only their SHA-256 hash.
/// pledge-service issues them; payment-service keeps the hash of the one that paid a guest's pledge.
public enum ReceiptToken {
    public static func generate() -> String {
        SymmetricKey(size: .bits256).withUnsafeBytes { Data($0) }.base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }

    public static func hash(_ token: String) -> String {
        Hex.encode(SHA256.hash(data: Data(token.utf8)))
    }

    public static func matches(_ token: String, hash stored: String?) -> Bool {
        guard let stored else { return false }
        // Compare digests, not tokens: equal-length hex, so timing says nothing about the token.
        let candidate = Array(hash(token).utf8)
        let expected = Array(stored.utf8)
        guard candidate.count == expected.count else { return false }
        return zip(candidate, expected).reduce(UInt8(0)) { $0 | ($1.0 ^ $1.1) } == 0
    }
}

/// Receipt tokens made from the pledge id under a key (HMAC-SHA256), so pledge-service can give a
/// guest's token again later (in the receipt mail's link) while storing only its hash. Without
/// the key, a token is as unguessable as a random one.
public struct ReceiptTokens: Sendable {
    let key: SymmetricKey

    /// The key is derived from `secret` (pledge-service's signing secret): a secret of its own,
    /// never the secret itself.
    public init(secret: String) {
        key = SymmetricKey(data: SHA256.hash(data: Data(("careforall-receipt-tokens|" + secret).utf8)))
    }

    public func token(for pledgeId: PledgeID) -> String {
        Data(HMAC<SHA256>.authenticationCode(for: Data(pledgeId.rawValue.utf8), using: key)).base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_").replacingOccurrences(of: "=", with: "")
    }
}

