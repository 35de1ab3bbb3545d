import Foundation
import Logging
import Synchronization

/// One JSON object a line on stdout: `timestamp`, `level`, `service`, `message`, then the
/// metadata in play (`request_id`, `trace_id`, ids). Keys that could carry secrets are redacted
/// whatever a caller passes.
public struct JSONLogHandler: LogHandler {
    public var metadata: Logger.Metadata = [:]
    public var logLevel: Logger.Level
    public var metadataProvider: Logger.MetadataProvider?
    let label: String
    let output: LogOutput

    public init(label: String, level: Logger.Level = .info, output: LogOutput = .standardOutput) {
        self.label = label
        self.logLevel = level
        self.output = output
    }

    public subscript(metadataKey key: String) -> Logger.Metadata.Value? {
        get { metadata[key] }
        set { metadata[key] = newValue }
    }

    public func log(event: LogEvent) {
        var merged = metadata
        if let provided = metadataProvider?.get() { merged.merge(provided) { _, new in new } }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }

        var object: [String: Any] = [
            "timestamp": Self.timestamp(),
            "level": event.level.rawValue,
            "service": LogRedaction.serviceName(fromLabel: label),
            "message": event.message.description,
        ]
        for (key, value) in merged {
            // Hummingbird's own request id is replaced by ours (`request_id`).
            if key == "hb.request.id" { continue }
            object[key] = LogRedaction.isSensitive(key) ? "[REDACTED]" : Self.json(value)
        }
        if event.level >= .error {
            object["source"] = "\(event.file):\(event.line)"
        }
        guard let data = try? JSONSerialization.data(withJSONObject: object, options: [.sortedKeys, .withoutEscapingSlashes])
        else { return }
        output.write(data + Data([0x0A]))
    }

    static func json(_ value: Logger.Metadata.Value) -> Any {
        switch value {
        case .string(let string): string
        case .stringConvertible(let convertible): convertible.description
        case .array(let array): array.map(json)
        case .dictionary(let dictionary):
            dictionary.reduce(into: [String: Any]()) { result, entry in
                result[entry.key] = LogRedaction.isSensitive(entry.key) ? "[REDACTED]" : json(entry.value)
            }
        }
    }

    static func timestamp() -> String {
        Date().formatted(.iso8601.year().month().day().time(includingFractionalSeconds: true).timeZone(separator: .omitted))
    }
}

/// Where log lines go: stdout in the platform, a buffer in tests that inspect them.
public struct LogOutput: Sendable {
    let write: @Sendable (Data) -> Void

    public init(write: @escaping @Sendable (Data) -> Void) {
        self.write = write
    }

    func write(_ data: Data) { write(data) }

    private static let stdoutLock = Mutex(())

    public static let standardOutput = LogOutput { data in
        stdoutLock.withLock { _ in
            FileHandle.standardOutput.write(data)
        }
    }
}

public enum LogRedaction {
    /// Metadata keys that must never reach a log line with their value.
    static let sensitiveFragments = ["password", "secret", "authorization", "token", "card", "cvc", "private_key", "cookie"]

    public static func isSensitive(_ key: String) -> Bool {
        let lowered = key.lowercased()
        return sensitiveFragments.contains { lowered.contains($0) }
    }

    /// `careforall.user` -> `user-service`; `careforall.gateway` -> `gateway`.
    static func serviceName(fromLabel label: String) -> String {
        guard label.hasPrefix("careforall.") else { return label }
        let name = String(label.dropFirst("careforall.".count))
        switch name {
        case "user", "campaign", "pledge", "payment": return "\(name)-service"
        default: return name
        }
    }
}
