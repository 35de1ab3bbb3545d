import Crypto
import Foundation

/// The signature scheme of internal calls, events and Stripe webhooks:
/// header `t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<raw body>">`. Several `v1` values may be
/// present (a secret being rotated); one match is enough.
public struct SignatureScheme: Sendable {
    /// How far the timestamp may be from now, either way.
    public let tolerance: TimeInterval
    private let keys: [SymmetricKey]

    /// - Parameter secrets: the accepted secrets; the first one signs.
    public init(secrets: [String], tolerance: TimeInterval = 300) {
        precondition(!secrets.isEmpty, "a signature scheme needs at least one secret")
        self.keys = secrets.map { SymmetricKey(data: Data($0.utf8)) }
        self.tolerance = tolerance
    }

    public init(secret: String, tolerance: TimeInterval = 300) {
        self.init(secrets: [secret], tolerance: tolerance)
    }

    /// The header value for `body` signed at `date`.
    public func sign(body: some DataProtocol, at date: Date = Date()) -> String {
        let timestamp = Int(date.timeIntervalSince1970)
        let mac = Self.mac(timestamp: timestamp, body: body, key: keys[0])
        return "t=\(timestamp),v1=\(Data(mac).hexString)"
    }

    /// Throws unless `header` carries a fresh signature of `body` by one of the secrets.
    public func verify(header: String?, body: some DataProtocol, now: Date = Date()) throws(SignatureError) {
        guard let header, !header.isEmpty else { throw .missingHeader }
        let parsed = try SignatureHeader(parsing: header)
        let age = now.timeIntervalSince1970 - TimeInterval(parsed.timestamp)
        if age > tolerance { throw .expired }
        if age < -tolerance { throw .timestampInFuture }
        let signedPayload = Self.payload(timestamp: parsed.timestamp, body: body)
        for key in keys {
            for candidate in parsed.signatures
            where HMAC<SHA256>.isValidAuthenticationCode(candidate, authenticating: signedPayload, using: key) {
                return
            }
        }
        throw .mismatch
    }

    static func payload(timestamp: Int, body: some DataProtocol) -> Data {
        var data = Data("\(timestamp).".utf8)
        data.append(contentsOf: body)
        return data
    }

    static func mac(timestamp: Int, body: some DataProtocol, key: SymmetricKey) -> HashedAuthenticationCode<SHA256> {
        HMAC<SHA256>.authenticationCode(for: payload(timestamp: timestamp, body: body), using: key)
    }
}

/// Why a signature was refused. The caller answers 400 or 401 and logs the case, never the secret.
public enum SignatureError: Error, Equatable, Sendable {
    case missingHeader
    case malformedHeader
    case expired
    case timestampInFuture
    case mismatch
}

/// A parsed `t=...,v1=...` header. Unknown schemes (`v0=`) are skipped, as Stripe's are.
public struct SignatureHeader: Sendable, Equatable {
    public let timestamp: Int
    public let signatures: [Data]

    public init(parsing header: String) throws(SignatureError) {
        var timestamp: Int?
        var signatures: [Data] = []
        for item in header.split(separator: ",") {
            let pair = item.split(separator: "=", maxSplits: 1)
            guard pair.count == 2 else { throw .malformedHeader }
            let key = pair[0].trimmingCharacters(in: .whitespaces)
            let value = pair[1].trimmingCharacters(in: .whitespaces)
            switch key {
            case "t":
                guard timestamp == nil, let parsed = Int(value), parsed > 0 else { throw .malformedHeader }
                timestamp = parsed
            case "v1":
                guard value.count == 64, let bytes = Data(hexString: value) else { throw .malformedHeader }
                signatures.append(bytes)
            default:
                continue
            }
        }
        guard let timestamp, !signatures.isEmpty else { throw .malformedHeader }
        self.timestamp = timestamp
        self.signatures = signatures
    }
}

extension Data {
    var hexString: String {
        map { String(format: "%02x", $0) }.joined()
    }

    init?(hexString: String) {
        guard hexString.count.isMultiple(of: 2) else { return nil }
        var bytes: [UInt8] = []
        bytes.reserveCapacity(hexString.count / 2)
        var index = hexString.startIndex
        while index < hexString.endIndex {
            let next = hexString.index(index, offsetBy: 2)
            guard let byte = UInt8(hexString[index..<next], radix: 16) else { return nil }
            bytes.append(byte)
            index = next
        }
        self.init(bytes)
    }
}
