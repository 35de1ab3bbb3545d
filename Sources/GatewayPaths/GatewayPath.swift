/// A request path as the gateway judges and forwards it: percent-decoded (`%2F` is a slash, as
/// nginx decodes it), dot segments resolved, empty segments dropped. Every rule (internal routes,
/// rate limits, streams) is matched on these segments, compared case-insensitively, and the
/// upstream URL is built from them, so what was judged is exactly what the service routes.
/// What cannot be read that way is refused (`GatewayPath.Invalid`, which the gateway answers with
/// 400 `invalid_path`): a fragment (`#` has no place in a request), a bad escape, bytes that are
/// not UTF-8, control characters, `\`, `;` (matrix parameters), or `..` above the root.
///
/// No dependency: the fuzzers (`scripts/fuzz`) build it alone.
public struct GatewayPath: Sendable, Equatable {
    /// Decoded segments, as sent (case kept).
    public let segments: [String]

    public init(raw: String) throws {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(raw.utf8.count)
        var iterator = raw.utf8.makeIterator()
        while let byte = iterator.next() {
            switch byte {
            case UInt8(ascii: "#"), UInt8(ascii: "?"):
                throw Self.invalid
            case UInt8(ascii: "%"):
                guard let high = iterator.next().flatMap(Self.hexValue), let low = iterator.next().flatMap(Self.hexValue) else { throw Self.invalid }
                bytes.append(high << 4 | low)
            default:
                bytes.append(byte)
            }
        }
        guard let decoded = String(validating: bytes, as: UTF8.self) else { throw Self.invalid }
        var segments: [String] = []
        // Split on the byte, not on characters: a combining mark after a slash makes one
        // character of the two, and the slash would stay inside a segment (found by fuzzing).
        for bytes in decoded.utf8.split(separator: UInt8(ascii: "/"), omittingEmptySubsequences: true) {
            let segment = String(decoding: bytes, as: UTF8.self)
            guard !segment.unicodeScalars.contains(where: Self.isRefused) else { throw Self.invalid }
            switch segment {
            case ".":
                continue
            case "..":
                guard !segments.isEmpty else { throw Self.invalid }
                segments.removeLast()
            default:
                segments.append(segment)
            }
        }
        self.segments = segments
    }

    public init(segments: [String]) {
        self.segments = segments
    }

    /// `/a/b`, each segment percent-encoded where it must be: what is sent upstream.
    public var encoded: String {
        segments.isEmpty ? "/" : segments.map { "/" + Self.encode($0) }.joined()
    }

    /// The lowercased segments rules compare against.
    public var folded: [String] { segments.map { $0.lowercased() } }

    /// The path after its first segment (`/api/users/login` -> `/users/login`).
    public var droppingFirst: GatewayPath { GatewayPath(segments: Array(segments.dropFirst())) }

    /// A path that cannot be read as a plain path.
    public struct Invalid: Error, Equatable {}

    static let invalid = Invalid()

    public static func isRefused(_ scalar: Unicode.Scalar) -> Bool {
        scalar.value < 0x20 || scalar.value == 0x7f || scalar == "\\" || scalar == ";" || scalar == "#" || scalar == "?"
    }

    static func hexValue(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): byte - UInt8(ascii: "A") + 10
        default: nil
        }
    }

    /// RFC 3986 `pchar` minus `;`: unreserved characters and a few sub-delimiters pass, the rest is escaped.
    static func encode(_ segment: String) -> String {
        var out = ""
        for byte in segment.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
                UInt8(ascii: "-"), UInt8(ascii: "."), UInt8(ascii: "_"), UInt8(ascii: "~"), UInt8(ascii: "!"), UInt8(ascii: "$"),
                UInt8(ascii: "&"), UInt8(ascii: "'"), UInt8(ascii: "("), UInt8(ascii: ")"), UInt8(ascii: "*"), UInt8(ascii: "+"),
                UInt8(ascii: ","), UInt8(ascii: "="), UInt8(ascii: ":"), UInt8(ascii: "@"):
                out.unicodeScalars.append(Unicode.Scalar(byte))
            default:
                out += "%" + String(byte, radix: 16, uppercase: true).leftPadded
            }
        }
        return out
    }
}

private extension String {
    var leftPadded: String { count == 1 ? "0" + self : self }
}

/// The gateway's rules, on `GatewayPath`s (below `/api`).
public enum GatewayRules {
    /// Routes only services call (signed); the public gets 404 for every spelling of them, whatever
    /// the method: `POST /campaigns/events`, `POST /notifications/events`,
    /// `POST /pledges/webhooks/payment`, and everything under `/<segment>/internal/`.
    public static func isInternal(_ path: GatewayPath) -> Bool {
        let s = path.folded
        if s.count >= 2 && s[1] == "internal" { return true }
        switch s {
        case ["campaigns", "events"], ["notifications", "events"], ["pledges", "webhooks", "payment"]: return true
        default: return false
        }
    }

    /// `GET /campaigns/{id}/stream`: a live stream, capped and sent over its own connections.
    public static func isStream(_ method: String, _ path: GatewayPath) -> Bool {
        let s = path.folded
        return method == "GET" && s.count == 3 && s[0] == "campaigns" && s[2] == "stream"
    }

    /// The key a rate limit is configured under: `"POST /users/login"`.
    public static func routeKey(_ method: String, _ path: GatewayPath) -> String {
        method + " /" + path.folded.joined(separator: "/")
    }
}
