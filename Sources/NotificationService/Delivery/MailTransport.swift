import Foundation
import SMTP

/// Where mail goes: an SMTP server, or (dev mode without `SMTP_URL`) `.eml` files in a folder.
public protocol MailTransport: Sendable {
    /// Hands the message over; returns where it went (`smtp://host:port`, a file name). An
    /// `SMTPError` says whether trying again later may help.
    func deliver(_ message: MailMessage, name: String) async throws(SMTPError) -> String
}

/// Sends over SMTP, one connection per mail.
public struct SMTPMailTransport: MailTransport {
    let client: SMTPClient

    public init(configuration: SMTPConfiguration) {
        client = SMTPClient(configuration: configuration)
    }

    public func deliver(_ message: MailMessage, name: String) async throws(SMTPError) -> String {
        try await client.send(message)
        return "smtp://\(client.configuration.host):\(client.configuration.port)"
    }
}

/// Writes each mail as `<name>.eml` in `directory` (created if missing), whole or not at all: a
/// mail client opens it as the message that would have been sent.
public struct FileMailTransport: MailTransport {
    public let directory: String

    public init(directory: String) {
        self.directory = directory
    }

    public func deliver(_ message: MailMessage, name: String) async throws(SMTPError) -> String {
        let file = name.filter { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" } + ".eml"
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try Data(message.rendered().utf8).write(to: URL(fileURLWithPath: directory).appendingPathComponent(file), options: .atomic)
        } catch {
            throw .connectionFailed("could not write \(file): \(error.localizedDescription)")
        }
        return "mail/" + file
    }
}
