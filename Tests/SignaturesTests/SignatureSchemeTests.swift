import Foundation
import Testing
@testable import Signatures

@Suite("HMAC signatures of internal calls (v2) and Stripe webhooks (v1)")
struct SignatureSchemeTests {
    let scheme = SignatureScheme(secret: "internal-test-secret")
    let stripe = SignatureScheme.stripe(secret: "whsec_test_secret")
    let body = Data(#"{"event_id":"e1","amount":2500}"#.utf8)
    let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test("a fresh v2 signature of the exact method, path and body verifies")
    func valid() throws {
        let header = scheme.sign(method: "POST", path: "/campaigns/events", body: body, at: now)
        #expect(header.hasPrefix("t=1800000000,v2="))
        try scheme.verify(header: header, method: "POST", path: "/campaigns/events", body: body, now: now.addingTimeInterval(10))
    }

    @Test("a v2 signature made for one route is refused at every other: another path, another method")
    func boundToRoute() {
        let header = scheme.sign(method: "POST", path: "/pledges/internal/lookup", body: body, at: now)
        #expect(throws: SignatureError.mismatch) { try scheme.verify(header: header, method: "POST", path: "/pledges/webhooks/payment", body: body, now: now) }
        #expect(throws: SignatureError.mismatch) { try scheme.verify(header: header, method: "PUT", path: "/pledges/internal/lookup", body: body, now: now) }
        #expect(throws: SignatureError.mismatch) { try scheme.verify(header: header, method: "POST", path: "/pledges/internal/lookup/", body: body, now: now) }
    }

    @Test("a v1 signature (body only) is refused where v2 is required, and a v2 where Stripe's v1 is")
    func versionsKeptApart() {
        let v1 = SignatureScheme.stripe(secret: "internal-test-secret").sign(body: body, at: now)
        #expect(throws: SignatureError.wrongVersion) { try scheme.verify(header: v1, method: "POST", path: "/campaigns/events", body: body, now: now) }
        let v2 = SignatureScheme(secret: "whsec_test_secret").sign(method: "POST", path: "/payments/webhooks/stripe", body: body, at: now)
        #expect(throws: SignatureError.wrongVersion) { try stripe.verify(header: v2, body: body, now: now) }
    }

    @Test("a body changed by one byte is refused")
    func tamperedBody() {
        let header = scheme.sign(path: "/campaigns/events", body: body, at: now)
        let tampered = Data(#"{"event_id":"e1","amount":2501}"#.utf8)
        #expect(throws: SignatureError.mismatch) { try scheme.verify(header: header, path: "/campaigns/events", body: tampered, now: now) }
    }

    @Test("a signature made with another secret is refused")
    func wrongSecret() {
        let header = SignatureScheme(secret: "another").sign(path: "/campaigns/events", body: body, at: now)
        #expect(throws: SignatureError.mismatch) { try scheme.verify(header: header, path: "/campaigns/events", body: body, now: now) }
    }

    @Test("a signature older than the tolerance is refused")
    func stale() {
        let header = scheme.sign(path: "/x", body: body, at: now)
        #expect(throws: SignatureError.expired) { try scheme.verify(header: header, path: "/x", body: body, now: now.addingTimeInterval(301)) }
        #expect(throws: Never.self) { try scheme.verify(header: header, path: "/x", body: body, now: now.addingTimeInterval(299)) }
    }

    @Test("a timestamp too far in the future is refused")
    func future() {
        let header = scheme.sign(path: "/x", body: body, at: now.addingTimeInterval(301))
        #expect(throws: SignatureError.timestampInFuture) { try scheme.verify(header: header, path: "/x", body: body, now: now) }
    }

    @Test("malformed headers are refused as malformed", arguments: [
        "garbage", "t=,v2=", "t=abc,v2=00", "v2=" + String(repeating: "a", count: 64), "t=1800000000",
        "t=1800000000,v2=zz" + String(repeating: "a", count: 62), "t=1800000000,v2=abcd", "t=1,t=2,v2=" + String(repeating: "a", count: 64),
    ])
    func malformed(header: String) {
        #expect(throws: SignatureError.malformedHeader) { try scheme.verify(header: header, path: "/x", body: body, now: now) }
    }

    @Test("a missing header is refused")
    func missing() {
        #expect(throws: SignatureError.missingHeader) { try scheme.verify(header: nil, body: body, now: now) }
        #expect(throws: SignatureError.missingHeader) { try scheme.verify(header: "", body: body, now: now) }
    }

    @Test("one matching signature among several is enough, and unknown schemes are skipped")
    func severalSignatures() throws {
        let good = stripe.sign(body: body, at: now)
        let goodSignature = good.split(separator: ",")[1]
        let header = "t=1800000000,v0=deadbeef,v1=\(String(repeating: "0", count: 64)),\(goodSignature)"
        try stripe.verify(header: header, body: body, now: now)
    }

    @Test("during a rotation both secrets verify and the first one signs")
    func rotation() throws {
        let old = SignatureScheme(secret: "old-secret")
        let rotating = SignatureScheme(secrets: ["new-secret", "old-secret"])
        // A sender not yet rotated is still accepted by a receiver that is.
        try rotating.verify(header: old.sign(path: "/x", body: body, at: now), path: "/x", body: body, now: now)
        // A rotated sender signs with the new secret: accepted by a rotated receiver, not by one that only knows the old.
        let fresh = rotating.sign(path: "/x", body: body, at: now)
        try SignatureScheme(secret: "new-secret").verify(header: fresh, path: "/x", body: body, now: now)
        #expect(throws: SignatureError.mismatch) { try old.verify(header: fresh, path: "/x", body: body, now: now) }
    }

    @Test("hex encodes and decodes both ways, and refuses what is not hex")
    func hex() {
        #expect(Hex.encode([0x00, 0x0f, 0xa5, 0xff]) == "000fa5ff")
        #expect(Hex.decode("000FA5ff") == Data([0x00, 0x0f, 0xa5, 0xff]))
        #expect(Hex.decode("abc") == nil)
        #expect(Hex.decode("zz") == nil)
    }
}
