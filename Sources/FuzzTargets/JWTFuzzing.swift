import Foundation
import JWTKit

/// Access tokens as the verifier reads them: jwt-kit's parser, then verification against a key
/// collection holding one ES256 public key (of a key made at start, so no input can be signed by
/// it). Whatever the bytes, parsing either throws or gives a header and a payload, and
/// verification always throws: nothing unsigned, `alg: none`, HS256 with the public key as its
/// secret, or signed by another key gets through.
enum JWTFuzzing {
    struct Claims: JWTPayload {
        var sub: SubjectClaim
        var exp: ExpirationClaim

        func verify(using algorithm: some JWTAlgorithm) async throws {
            try exp.verifyNotExpired()
        }
    }

    /// Made once, on first use.
    static let keys = Task {
        let collection = JWTKeyCollection()
        await collection.add(ecdsa: ES256PrivateKey().publicKey, kid: "fuzz")
        return collection
    }

    static func check(_ input: [UInt8]) async throws(FuzzFailure) {
        _ = try? DefaultJWTParser().parse(input, as: Claims.self)
        let token = String(decoding: input, as: UTF8.self)
        if (try? await keys.value.verify(token, as: Claims.self)) != nil {
            throw FuzzFailure("a token not signed by the key verified")
        }
    }
}
