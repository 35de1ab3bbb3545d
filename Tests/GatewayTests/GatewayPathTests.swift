import HTTPSupport
import Testing
@testable import Gateway
import GatewayPaths

@Suite("The gateway's normalized paths: every rule is matched on what the service will route")
struct GatewayPathTests {
    @Test("spellings of one route normalize to it", arguments: [
        "/api/users/login", "/api/users/login/", "/api/users/login//", "//api/users/login", "/api//users/login",
        "/api/users/./login", "/api/users/x/../login", "/api/users/%2e/login", "/api/users/x/%2E%2E/login",
        "/api/users/%6cogin", "/api/users/%6Cogin", "/api/users%2Flogin", "/api/users%2flogin", "/api/users/login/.", "/api/users/login/%2e",
        "/api/users/LOGIN", "/API/Users/Login",
    ])
    func spellings(raw: String) throws {
        let path = try GatewayPath(raw: raw)
        #expect(path.folded == ["api", "users", "login"])
        #expect(GatewayRules.routeKey("POST", path.droppingFirst) == "POST /users/login")
    }

    @Test("what cannot be read as a plain path is refused with 400 invalid_path", arguments: [
        "/api/users/login#x", "/api/users/login/#/x", "/api/users/login;x=1", "/api/users/login;jsessionid=1/", "/api/users%5Clogin",
        "/api/users/login%00", "/api/users/login%", "/api/users/login%zz", "/api/users/%ff", "/api/../../etc/passwd", "/..",
        "/api/users/login%3Fx=1", "/api/users/login%23x", "/api/users/%0alogin",
    ])
    func refused(raw: String) {
        #expect(throws: GatewayPath.Invalid.self) { try GatewayPath(raw: raw) }
    }

    @Test("a combining mark after a slash does not hide the slash (found by fuzzing)")
    func combiningMarkAfterSlash() throws {
        let path = try GatewayPath(raw: "/api/pledges/\u{0301}internal/lookup")
        #expect(path.segments == ["api", "pledges", "\u{0301}internal", "lookup"])
        #expect(try GatewayPath(raw: path.encoded) == path)
        #expect(try GatewayPath(raw: "\u{0486}x/y").segments == ["\u{0486}x", "y"])
    }

    @Test("internal routes are recognized in any case, with any method, and nothing else is")
    func internalRoutes() throws {
        for raw in [
            "/campaigns/events", "/Campaigns/EVENTS", "/notifications/events", "/pledges/webhooks/payment", "/pledges/internal/lookup",
            "/payments/internal/summary", "/users/internal/token-versions/123", "/anything/internal",
        ] {
            #expect(GatewayRules.isInternal(try GatewayPath(raw: raw)), "\(raw)")
        }
        for raw in ["/campaigns", "/campaigns/7/events", "/campaigns/events-page", "/pledges/webhooks", "/payments/webhooks/stripe", "/internal/x"] {
            #expect(!GatewayRules.isInternal(try GatewayPath(raw: raw)), "\(raw)")
        }
    }

    @Test("the upstream path is rebuilt from the segments, escaping what must be")
    func encoding() throws {
        #expect(try GatewayPath(raw: "/campaigns/%41bc/donations").encoded == "/campaigns/Abc/donations")
        #expect(try GatewayPath(raw: "/users/a%20b/c%C3%A9").encoded == "/users/a%20b/c%C3%A9")
        #expect(try GatewayPath(raw: "/").encoded == "/")
        #expect(GatewayPath(segments: ["a b", "x:y@z", "100%"]).encoded == "/a%20b/x:y@z/100%25")
    }

    @Test("live streams are GET /campaigns/{id}/stream only")
    func streams() throws {
        #expect(GatewayRules.isStream("GET", try GatewayPath(raw: "/campaigns/7/stream/")))
        #expect(!GatewayRules.isStream("POST", try GatewayPath(raw: "/campaigns/7/stream")))
        #expect(!GatewayRules.isStream("GET", try GatewayPath(raw: "/campaigns/7")))
    }

    @Test("stream slots: a client's share, then all of them; a slot comes back when dropped")
    func slots() throws {
        let slots = StreamSlots(perClient: 2, total: 3)
        var held = [try slots.take(client: "a"), try slots.take(client: "a")]
        #expect(throws: APIError.self) { try slots.take(client: "a") }
        held.append(try slots.take(client: "b"))
        #expect(throws: APIError.self) { try slots.take(client: "c") }
        #expect(slots.open == 3)
        held.removeFirst()
        #expect(slots.open == 2)
        _ = try slots.take(client: "a")  // taken and dropped at once
        #expect(slots.open == 2)
        withExtendedLifetime(held) {}
    }
}
