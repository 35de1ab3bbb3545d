import Testing
@testable import HTTPSupport

@Suite("W3C traceparent: read and made on every request")
struct TraceParentTests {
    @Test("a well-formed header gives its trace id, lowercased")
    func reads() {
        #expect(TraceParent.traceID(from: "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01") == "4bf92f3577b34da6a3ce929d0e0e4736")
        #expect(TraceParent.traceID(from: "00-4BF92F3577B34DA6A3CE929D0E0E4736-00F067AA0BA902B7-00") == "4bf92f3577b34da6a3ce929d0e0e4736")
    }

    @Test("anything else is no trace", arguments: [
        "", "garbage", "00-4bf92f3577b34da6a3ce929d0e0e473-00f067aa0ba902b7-01", "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-011",
        "00-00000000000000000000000000000000-00f067aa0ba902b7-01", "00-4bf92f3577b34da6a3ce929d0e0e473g-00f067aa0ba902b7-01",
        "00_4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "zz-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba9ü2b7-01",
    ])
    func refuses(header: String) {
        #expect(TraceParent.traceID(from: header) == nil)
    }

    @Test("a new trace is well formed, sampled, and its id is the one returned with it; no two alike")
    func generates() {
        var seen = Set<String>()
        for _ in 0..<1000 {
            let (header, traceID) = TraceParent.generateWithID()
            #expect(header.hasPrefix("00-") && header.hasSuffix("-01") && header.utf8.count == 55)
            #expect(TraceParent.traceID(from: header) == traceID)
            seen.insert(traceID)
        }
        #expect(seen.count == 1000)
    }
}
