import Foundation
import Testing
@testable import Signatures

@Suite("HMAC signatures of internal calls, events and webhooks")
struct SignatureSchemeTests {
    let scheme = SignatureScheme(secret: "whsec_test_secret")
    let body = Data(#"{"event_id":"e1","amount":2500}"#.utf8)
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("a fresh signature of the exact body verifies")
    func valid() throws {
        let header = scheme.sign(body: body, at: now)
        #expect(header.hasPrefix("t=1800000000,v1="))
        try scheme.verify(header: header, body: body, now: now.addingTimeInterval(10))
    }

    @Test("a body changed by one byte is refused")
    func tamperedBody() {
        let header = scheme.sign(body: body, at: now)
        let tampered = Data(#"{"event_id":"e1","amount":2501}"#.utf8)
        #expect(throws: SignatureError.mismatch) { try scheme.verify(header: header, body: tampered, now: now) }
    }

    @Test("a signature made with another secret is refused")
    func wrongSecret() {
        let header = SignatureScheme(secret: "another").sign(body: body, at: now)
        #expect(throws: SignatureError.mismatch) { try scheme.verify(header: header, body: body, now: now) }
    }

    @Test("a signature older than the tolerance is refused")
    func stale() {
        let header = scheme.sign(body: body, at: now)
        #expect(throws: SignatureError.expired) { try scheme.verify(header: header, body: body, now: now.addingTimeInterval(301)) }
        #expect(throws: Never.self) { try scheme.verify(header: header, body: body, now: now.addingTimeInterval(299)) }
    }

    @Test("a timestamp too far in the future is refused")
    func future() {
        let header = scheme.sign(body: body, at: now.addingTimeInterval(301))
        #expect(throws: SignatureError.timestampInFuture) { try scheme.verify(header: header, body: body, now: now) }
    }

    @Test("malformed headers are refused as malformed", arguments: [
        "garbage", "t=,v1=", "t=abc,v1=00", "v1=" + String(repeating: "a", count: 64), "t=1800000000",
        "t=1800000000,v1=zz" + String(repeating: "a", count: 62), "t=1800000000,v1=abcd", "t=1,t=2,v1=" + String(repeating: "a", count: 64),
    ])
    func malformed(header: String) {
        #expect(throws: SignatureError.malformedHeader) { try scheme.verify(header: header, body: body, now: now) }
    }

    @Test("a missing header is refused")
    func missing() {
        #expect(throws: SignatureError.missingHeader) { try scheme.verify(header: nil, body: body, now: now) }
        #expect(throws: SignatureError.missingHeader) { try scheme.verify(header: "", body: body, now: now) }
    }

    @Test("one matching v1 among several is enough, and unknown schemes are skipped")
    func severalSignatures() throws {
        let good = scheme.sign(body: body, at: now)
        let goodSignature = good.split(separator: ",")[1]
        let header = "t=1800000000,v0=deadbeef,v1=\(String(repeating: "0", count: 64)),\(goodSignature)"
        try scheme.verify(header: header, body: body, now: now)
    }

    @Test("a rotated secret still verifies while both are configured")
    func rotation() throws {
        let old = SignatureScheme(secret: "old-secret")
        let rotating = SignatureScheme(secrets: ["new-secret", "old-secret"])
        try rotating.verify(header: old.sign(body: body, at: now), body: body, now: now)
        try old.verify(header: SignatureScheme(secrets: ["old-secret", "new-secret"]).sign(body: body, at: now), body: body, now: now)
    }
}
