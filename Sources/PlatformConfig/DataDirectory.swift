import Crypto
import Foundation
import Signatures

/// The dev-mode data folder: SQLite files and the generated secrets that must survive restarts
/// (the JWT signing key, the internal signing secret). The folder is its owner's alone (0700,
/// tightened if it was made looser before), files holding secrets are created 0600, and the
/// SQLite files are made 0600 when opened.
public struct DataDirectory: Sendable {
    public let path: String

    public init(path: String) throws {
        let url = URL(fileURLWithPath: path, isDirectory: true).standardizedFileURL
        try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: url.path)
        self.path = url.path
    }

    /// The SQLite URL for one service's database file.
    public func sqliteURL(for role: ServiceRole) -> String {
        "sqlite://" + filePath("\(role.rawValue).sqlite")
    }

    public func filePath(_ name: String) -> String {
        (path as NSString).appendingPathComponent(name)
    }

    /// Returns the secret kept in `name`, creating it with `generate` on first use.
    public func secret(named name: String, generate: () throws -> String) throws -> String {
        let file = filePath(name)
        if let existing = try? String(contentsOfFile: file, encoding: .utf8), !existing.isEmpty {
            return existing
        }
        let value = try generate()
        let created = FileManager.default.createFile(
            atPath: file,
            contents: Data(value.utf8),
            attributes: [.posixPermissions: 0o600]
        )
        guard created else { throw CocoaError(.fileWriteUnknown) }
        return value
    }

    /// A random secret of `byteCount` bytes, hex encoded.
    public static func randomSecret(byteCount: Int = 32) -> String {
        SymmetricKey(size: .init(bitCount: byteCount * 8)).withUnsafeBytes { Hex.encode($0) }
    }

    /// A random password that is easy to copy from a terminal.
    public static func randomPassword() -> String {
        let alphabet = Array("abcdefghijkmnpqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789")
        var generator = SystemRandomNumberGenerator()
        return String((0..<20).map { _ in alphabet[Int(generator.next(upperBound: UInt(alphabet.count)))] })
    }
}
