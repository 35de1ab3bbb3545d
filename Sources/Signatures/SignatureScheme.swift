import Crypto
import Foundation

/// HMAC-SHA256 request signatures in a `t=<unix seconds>,<version>=<hex>` header, in two versions:
/// - `v2`, between CareForAll services: the MAC of `"<t>.<METHOD>.<path>.<raw body>"`, so a
///   signature made for one route is refused at every other;
/// - `v1`, Stripe's webhook scheme: the MAC of `"<t>.<raw body>"` (and the sandbox's, which
///   plays Stripe).
/// A scheme accepts only its own version. Several values may be present (a secret being rotated);
/// one match is enough.
public struct SignatureScheme: Sendable {
    public enum Version: String, Sendable {
        case v1
        case v2
    }

    public let version: Version
    /// How far the timestamp may be from now, either way.
    public let tolerance: TimeInterval
    private let keys: [SymmetricKey]

    /// - Parameter secrets: the accepted secrets; the first one signs.
    public init(secrets: [String], version: Version = .v2, tolerance: TimeInterval = 300) {
        precondition(!secrets.isEmpty, "a signature scheme needs at least one secret")
        self.keys = secrets.map { SymmetricKey(data: Data($0.utf8)) }
        self.version = version
        self.tolerance = tolerance
    }

    /// A v2 scheme with one secret.
    public init(secret: String, tolerance: TimeInterval = 300) {
        self.init(secrets: [secret], tolerance: tolerance)
    }

    /// Stripe's `Stripe-Signature` scheme (v1) for `secret`.
    public static func stripe(secret: String, tolerance: TimeInterval = 300) -> SignatureScheme {
        SignatureScheme(secrets: [secret], version: .v1, tolerance: tolerance)
    }

    /// The header value for a `method` request to `path` (without the query) carrying `body`,
    /// signed at `date`. v1 ignores the method and path.
    public func sign(method: String = "POST", path: String = "", body: some DataProtocol, at date: Date = Date()) -> String {
        let timestamp = Int(date.timeIntervalSince1970)
        let mac = HMAC<SHA256>.authenticationCode(for: payload(timestamp: timestamp, method: method, path: path, body: body), using: keys[0])
        return "t=\(timestamp),\(version.rawValue)=\(Hex.encode(mac))"
    }

    /// Throws unless `header` carries a fresh signature of this request by one of the secrets.
    public func verify(
        header: String?, method: String = "POST", path: String = "", body: some DataProtocol, now: Date = Date()
    ) throws(SignatureError) {
        guard let header, !header.isEmpty else { throw .missingHeader }
        let parsed = try SignatureHeader(parsing: header)
        let candidates = parsed.signatures[version] ?? []
        guard !candidates.isEmpty else { throw .wrongVersion }
        let age = now.timeIntervalSince1970 - TimeInterval(parsed.timestamp)
        if age > tolerance { throw .expired }
        if age < -tolerance { throw .timestampInFuture }
        let signedPayload = payload(timestamp: parsed.timestamp, method: method, path: path, body: body)
        for key in keys {
            for candidate in candidates where HMAC<SHA256>.isValidAuthenticationCode(candidate, authenticating: signedPayload, using: key) {
                return
            }
        }
        throw .mismatch
    }

    func payload(timestamp: Int, method: String, path: String, body: some DataProtocol) -> Data {
        var data: Data
        switch version {
        case .v1: data = Data("\(timestamp).".utf8)
        case .v2: data = Data("\(timestamp).\(method.uppercased()).\(path).".utf8)
        }
        data.append(contentsOf: body)
        return data
    }
}

/// Why a signature was refused. The caller answers 400 or 401 and logs the case, never the secret.
public enum SignatureError: Error, Equatable, Sendable {
    case missingHeader
    case malformedHeader
    /// The header carries no signature of the version this route takes (a v1 on an internal route).
    case wrongVersion
    case expired
    case timestampInFuture
    case mismatch
}

/// A parsed `t=...,v1=...,v2=...` header. Unknown schemes (`v0=`) are skipped, as Stripe's are.
public struct SignatureHeader: Sendable, Equatable {
    public let timestamp: Int
    public let signatures: [SignatureScheme.Version: [Data]]

    public init(parsing header: String) throws(SignatureError) {
        var timestamp: Int?
        var signatures: [SignatureScheme.Version: [Data]] = [:]
        for item in header.split(separator: ",") {
            let pair = item.split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { throw .malformedHeader }
            let key = pair[0].trimmingCharacters(in: .whitespaces)
            let value = pair[1].trimmingCharacters(in: .whitespaces)
            if key == "t" {
                guard timestamp == nil, let parsed = Int(value), parsed > 0 else { throw .malformedHeader }
                timestamp = parsed
            } else if let version = SignatureScheme.Version(rawValue: key) {
                guard value.utf8.count == 64, let bytes = Hex.decode(value) else { throw .malformedHeader }
                signatures[version, default: []].append(bytes)
            }
        }
        guard let timestamp, !signatures.isEmpty else { throw .malformedHeader }
        self.timestamp = timestamp
        self.signatures = signatures
    }
}

/// Lowercase hex without `String(format:)`, which costs a formatter per byte.
public enum Hex {
    private static let digits = Array("0123456789abcdef".utf8)

    public static func encode(_ bytes: some Sequence<UInt8>) -> String {
        var out: [UInt8] = []
        for byte in bytes {
            out.append(digits[Int(byte >> 4)])
            out.append(digits[Int(byte & 0x0f)])
        }
        return String(decoding: out, as: UTF8.self)
    }

    public static func isDigit(_ byte: UInt8) -> Bool {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "a")...UInt8(ascii: "f"), UInt8(ascii: "A")...UInt8(ascii: "F"): true
        default: false
        }
    }

    public static func decode(_ text: String) -> Data? {
        let utf8 = Array(text.utf8)
        guard utf8.count.isMultiple(of: 2) else { return nil }
        func value(_ c: UInt8) -> UInt8? {
            switch c {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): c - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): c - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): c - UInt8(ascii: "A") + 10
            default: nil
            }
        }
        var bytes = Data(capacity: utf8.count / 2)
        var index = 0
        while index < utf8.count {
            guard let high = value(utf8[index]), let low = value(utf8[index + 1]) else { return nil }
            bytes.append(high << 4 | low)
            index += 2
        }
        return bytes
    }
}
