/// Text for HTML, written by every page and mail the platform renders.
public enum HTML {
    /// `text` as HTML text or a quoted attribute value: `&`, `<`, `>`, `"` and `'` become
    /// entities, and NUL becomes U+FFFD (what a browser's parser would read it as anyway).
    ///
    /// It works on UTF-8 bytes, not on `Character`s. A `Character` is a grapheme cluster: a
    /// "prepend" mark such as U+0600 before `<` makes one cluster that is not equal to `"<"`, so a
    /// walk over characters lets the `<` through (the bypass this replaced). Every byte of these
    /// five ASCII characters is one byte in UTF-8 and never part of another character's bytes,
    /// so matching bytes catches each one whatever surrounds it.
    public static func escape(_ text: String) -> String {
        let utf8 = text.utf8
        // Most text has nothing to escape: answer it as it is, without copying.
        guard utf8.contains(where: { needsEscape[Int($0)] }) else { return text }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(utf8.count + 16)
        for byte in utf8 {
            switch byte {
            case UInt8(ascii: "&"): bytes.append(contentsOf: "&amp;".utf8)
            case UInt8(ascii: "<"): bytes.append(contentsOf: "&lt;".utf8)
            case UInt8(ascii: ">"): bytes.append(contentsOf: "&gt;".utf8)
            case UInt8(ascii: "\""): bytes.append(contentsOf: "&quot;".utf8)
            case UInt8(ascii: "'"): bytes.append(contentsOf: "&#39;".utf8)
            case 0: bytes.append(contentsOf: [0xEF, 0xBF, 0xBD])
            default: bytes.append(byte)
            }
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    private static let needsEscape: [Bool] = (0..<256).map { [0, 0x26, 0x3C, 0x3E, 0x22, 0x27].contains($0) }
}
