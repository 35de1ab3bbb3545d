import HTTPSupport
import PropertyBased
import Testing

/// Pieces that, joined at random, make the text an attacker would try: markup characters beside
/// marks that join them into one grapheme cluster (U+0600 prepends, U+0301 combines, U+200D
/// joins, U+0903 is a spacing mark), with letters, NUL and line breaks around them.
private let pieces: [String] = [
    "<", ">", "&", "\"", "'", "\u{0600}", "\u{0301}", "\u{200D}", "\u{0903}", "\u{1100}", "\u{FE0F}", "\u{1F3FB}", "👩",
    "a", "h1", "img src=x onerror=alert(1)", " ", "=", "/", "\u{0000}", "\r\n", "&amp;", "&#60;", "é", "\u{0600}<", "<\u{0301}",
]
private let hostileText = Gen.element(of: pieces).array(of: 0...40).map { $0.compactMap { $0 }.joined() }

@Suite("HTML escaping")
struct HTMLEscapeTests {
    @Test("a prepend mark before < does not let a tag through (the grapheme-cluster bypass)")
    func prependedMarkup() {
        let name = "\u{0600}<h1 \u{0600}>Action required\u{0600}</h1 \u{0600}>\u{0600}<a href=https://evil.example/claim \u{0600}>Claim\u{0600}</a \u{0600}>"
        let escaped = HTML.escape(name)
        #expect(!escaped.utf8.contains(UInt8(ascii: "<")))
        #expect(!escaped.utf8.contains(UInt8(ascii: ">")))
        // Compared as bytes: as Characters, "\u{0600}&" is one cluster and would not match "&".
        #expect(Self.bytes(escaped, contain: "&lt;h1 "))
    }

    @Test("every markup byte is escaped, whatever marks surround it, and nothing else changes")
    func property() async {
        await propertyCheck(count: 500, input: hostileText) { text in
            let escaped = HTML.escape(text)
            let bytes = Array(escaped.utf8)
            for forbidden in ["<", ">", "\"", "'"] {
                #expect(!bytes.contains(UInt8(ascii: Unicode.Scalar(forbidden)!)), "a raw \(forbidden) in \(escaped.debugDescription)")
            }
            #expect(!bytes.contains(0), "a NUL byte passed")
            // Every & starts one of the entities written here.
            var index = bytes.startIndex
            while let amp = bytes[index...].firstIndex(of: UInt8(ascii: "&")) {
                let rest = bytes[amp...]
                #expect(["&amp;", "&lt;", "&gt;", "&quot;", "&#39;"].contains { rest.starts(with: $0.utf8) }, "a bare & in \(escaped.debugDescription)")
                index = amp + 1
            }
            #expect(Array(Self.unescape(escaped).utf8) == Array(text.utf8).flatMap { $0 == 0 ? [0xEF, 0xBF, 0xBD] : [$0] })
        }
    }

    @Test("inside a template, the only tags are the template's own")
    func templateTags() async {
        await propertyCheck(count: 300, input: hostileText) { text in
            let page = "<p title=\"\(HTML.escape(text))\">\(HTML.escape(text))</p><a href=\"\(HTML.escape(text))\">x</a>"
            #expect(page.utf8.filter { $0 == UInt8(ascii: "<") }.count == 4)
            #expect(page.utf8.filter { $0 == UInt8(ascii: "\"") }.count == 4)
        }
    }

    @Test("text without markup comes back as it was")
    func plain() {
        #expect(HTML.escape("Zoë's") == "Zoë&#39;s")
        #expect(HTML.escape("café au lait") == "café au lait")
        #expect(HTML.escape("") == "")
    }

    static func bytes(_ text: String, contain part: String) -> Bool {
        let bytes = Array(text.utf8)
        return bytes.indices.contains { bytes[$0...].starts(with: part.utf8) }
    }

    /// The five entities back to their characters, byte by byte (not by grapheme cluster).
    static func unescape(_ text: String) -> String {
        let entities: [(String, UInt8)] = [("&lt;", 0x3C), ("&gt;", 0x3E), ("&quot;", 0x22), ("&#39;", 0x27), ("&amp;", 0x26)]
        let bytes = Array(text.utf8)
        var out: [UInt8] = []
        var index = 0
        outer: while index < bytes.count {
            for (entity, byte) in entities where bytes[index...].starts(with: entity.utf8) {
                out.append(byte)
                index += entity.utf8.count
                continue outer
            }
            out.append(bytes[index])
            index += 1
        }
        return String(decoding: out, as: UTF8.self)
    }
}
