/// The one percent-encoder for URLs the platform builds (paths to other services, query
/// parameters, the provider's form bodies): every byte of the UTF-8 text but RFC 3986's unreserved
/// ASCII characters (`A-Z a-z 0-9 - . _ ~`) becomes `%XX`. Letters outside ASCII are encoded too
/// (`CharacterSet.alphanumerics` would let `é` through raw).
public enum PercentEncoding {
    public static func encode(_ text: String) -> String {
        var out: [UInt8] = []
        out.reserveCapacity(text.utf8.count)
        for byte in text.utf8 {
            if isUnreserved(byte) {
                out.append(byte)
            } else {
                out.append(UInt8(ascii: "%"))
                out.append(hex[Int(byte >> 4)])
                out.append(hex[Int(byte & 0x0F)])
            }
        }
        return String(decoding: out, as: UTF8.self)
    }

    static func isUnreserved(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "0")...UInt8(ascii: "9"): true
        case UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"): true
        default: false
        }
    }

    private static let hex = Array("0123456789ABCDEF".utf8)
}
