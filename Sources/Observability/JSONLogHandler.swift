import Foundation
import Instrumentation
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
        // Under a span (tracing on), the span's own ids; a line about one event names its trace itself.
        if let traceParent = InstrumentationContext.current?.traceParent, let ids = TraceIDs(traceParent) {
            merged["trace_id"] = .string(ids.traceID)
            merged["span_id"] = .string(ids.spanID)
        }
        if let extra = event.metadata { merged.merge(extra) { _, new in new } }
        // Hummingbird's own request id is replaced by ours (`request_id`).
        merged["hb.request.id"] = nil
        merged["timestamp"] = .string(RFC3339.format(Date()))
        merged["level"] = .string(event.level.rawValue)
        merged["service"] = .string(LogRedaction.serviceName(fromLabel: label))
        merged["message"] = .string(event.message.description)
        if event.level >= .error {
            merged["source"] = .string("\(event.file):\(event.line)")
        }
        var line = JSONLine()
        line.object(merged, redacting: LogRedaction.isSensitive)
        line.bytes.append(0x0A)
        output.write(Data(line.bytes))
    }
}

/// The trace and span ids of a well-formed `traceparent` (`00-<32 hex>-<16 hex>-<2 hex>`).
struct TraceIDs {
    let traceID: String
    let spanID: String

    init?(_ traceParent: String) {
        let utf8 = Array(traceParent.utf8)
        guard utf8.count == 55 else { return nil }
        traceID = String(decoding: utf8[3..<35], as: UTF8.self)
        spanID = String(decoding: utf8[36..<52], as: UTF8.self)
    }
}

/// A JSON text written byte by byte, keys sorted, `/` unescaped, non-ASCII as UTF-8: what a log
/// line needs, without a `[String: Any]` tree and `JSONSerialization` on every request.
struct JSONLine {
    var bytes: [UInt8] = []

    init() {
        bytes.reserveCapacity(512)
    }

    mutating func object(_ metadata: Logger.Metadata, redacting isSensitive: (String) -> Bool) {
        bytes.append(UInt8(ascii: "{"))
        for (index, key) in metadata.keys.sorted().enumerated() {
            if index > 0 { bytes.append(UInt8(ascii: ",")) }
            string(key)
            bytes.append(UInt8(ascii: ":"))
            if isSensitive(key) {
                string("[REDACTED]")
            } else {
                value(metadata[key]!, redacting: isSensitive)
            }
        }
        bytes.append(UInt8(ascii: "}"))
    }

    mutating func value(_ value: Logger.Metadata.Value, redacting isSensitive: (String) -> Bool) {
        switch value {
        case .string(let text): string(text)
        case .stringConvertible(let convertible): string(convertible.description)
        case .array(let values):
            bytes.append(UInt8(ascii: "["))
            for (index, element) in values.enumerated() {
                if index > 0 { bytes.append(UInt8(ascii: ",")) }
                self.value(element, redacting: isSensitive)
            }
            bytes.append(UInt8(ascii: "]"))
        case .dictionary(let dictionary):
            object(dictionary, redacting: isSensitive)
        }
    }

    mutating func string(_ text: String) {
        JSONText.append(string: text, to: &bytes)
    }
}

/// JSON text written byte by byte: strings quoted and escaped (`"`, `\\`, control characters),
/// `/` and non-ASCII left as they are.
public enum JSONText {
    public static func append(string text: String, to bytes: inout [UInt8]) {
        bytes.append(UInt8(ascii: "\""))
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "\""): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\"")])
            case UInt8(ascii: "\\"): bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "\\")])
            case 0x0A: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "n")])
            case 0x0D: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "r")])
            case 0x09: bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "t")])
            case 0..<0x20, 0x7F:
                bytes.append(contentsOf: [UInt8(ascii: "\\"), UInt8(ascii: "u"), UInt8(ascii: "0"), UInt8(ascii: "0"), hexDigits[Int(byte >> 4)], hexDigits[Int(byte & 0x0F)]])
            default: bytes.append(byte)
            }
        }
        bytes.append(UInt8(ascii: "\""))
    }

    static let hexDigits = Array("0123456789abcdef".utf8)
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

    /// Checked for every key of every log line: ASCII-case-insensitive byte search, not
    /// Foundation's `contains`, which costs more than writing the rest of the line.
    public static func isSensitive(_ key: String) -> Bool {
        let lowered = key.utf8.map { $0 >= UInt8(ascii: "A") && $0 <= UInt8(ascii: "Z") ? $0 + 32 : $0 }
        return sensitiveBytes.contains { fragment in
            guard lowered.count >= fragment.count else { return false }
            return (0...(lowered.count - fragment.count)).contains { start in lowered[start..<(start + fragment.count)].elementsEqual(fragment) }
        }
    }

    static let sensitiveBytes = sensitiveFragments.map { Array($0.utf8) }

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
