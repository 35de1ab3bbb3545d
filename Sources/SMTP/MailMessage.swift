import Foundation

/// An address with an optional display name: `Ada <ada@example.org>`.
public struct MailAddress: Sendable, Equatable, Hashable, CustomStringConvertible {
    public let address: String
    public let name: String?

    /// nil unless `address` is one plain `local@domain`: no spaces, angle brackets, line breaks
    /// or control characters, so it can never inject a header or an SMTP command.
    public init?(_ address: String, name: String? = nil) {
        let trimmed = address.trimmingCharacters(in: .whitespaces)
        let parts = trimmed.split(separator: "@", omittingEmptySubsequences: false)
        guard parts.count == 2, !parts[0].isEmpty, parts[1].contains("."), !parts[1].hasPrefix("."), !parts[1].hasSuffix("."),
            trimmed.utf8.count <= 254,
            trimmed.unicodeScalars.allSatisfy({ $0.value > 0x20 && $0.value != 0x7F && !"<>()[]\\,;:\"".unicodeScalars.contains($0) })
        else { return nil }
        self.address = trimmed
        self.name = name.map { $0.filter { !$0.isNewline && $0 != "\r" } }.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// The `To:` / `From:` form: the name encoded when it is not plain ASCII.
    public var description: String {
        guard let name else { return address }
        return HeaderEncoding.phrase(name) + " <" + address + ">"
    }
}

/// A mail with a plain-text and an HTML part (`multipart/alternative`), ready for SMTP's DATA.
public struct MailMessage: Sendable, Equatable {
    public var from: MailAddress
    public var to: [MailAddress]
    public var subject: String
    public var text: String
    public var html: String?
    /// `<unique@domain>`: kept with the mail, so a message sent twice after a crash is recognisably
    /// the same one.
    public var messageId: String
    public var date: Date

    public init(from: MailAddress, to: [MailAddress], subject: String, text: String, html: String? = nil, messageId: String, date: Date = Date()) {
        self.from = from
        self.to = to
        self.subject = subject
        self.text = text
        self.html = html
        self.messageId = messageId
        self.date = date
    }

    /// A new `Message-ID` in `from`'s domain.
    public static func makeMessageId(domain: String) -> String {
        "<" + UUID().uuidString.lowercased() + "@" + domain + ">"
    }

    /// The message in RFC 5322 form with CRLF line ends; each part is UTF-8 in base64, so no
    /// line is longer than 78 characters and the body carries any text.
    public func rendered() -> String {
        var lines = [
            "From: " + from.description,
            "To: " + to.map(\.description).joined(separator: ", "),
            "Subject: " + HeaderEncoding.unstructured(subject),
            "Date: " + Self.rfc5322Date(date),
            "Message-ID: " + messageId,
            "MIME-Version: 1.0",
        ]
        let text = Self.part(type: "text/plain", body: self.text)
        if let html {
            // From the Message-ID, so the same mail renders to the same bytes every time.
            let boundary = "=_careforall_" + String(messageId.filter { $0.isLetter || $0.isNumber }.prefix(40))
            lines.append("Content-Type: multipart/alternative;")
            lines.append(" boundary=\"\(boundary)\"")
            lines.append("")
            lines.append("This is a message in MIME format.")
            lines.append("--" + boundary)
            lines += text
            lines.append("--" + boundary)
            lines += Self.part(type: "text/html", body: html)
            lines.append("--" + boundary + "--")
        } else {
            lines += text
        }
        return lines.joined(separator: "\r\n") + "\r\n"
    }

    static func part(type: String, body: String) -> [String] {
        let encoded = Data(body.utf8).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
        return ["Content-Type: \(type); charset=utf-8", "Content-Transfer-Encoding: base64", ""] + encoded.components(separatedBy: "\r\n")
    }

    /// `Thu, 26 Nov 2026 22:13:15 +0000`.
    static func rfc5322Date(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        return formatter.string(from: date)
    }
}

/// RFC 2047 encoded words for header text that is not plain ASCII.
enum HeaderEncoding {
    /// Subject-like text: ASCII as it is (line breaks removed), anything else as `=?UTF-8?B?...?=`
    /// words short enough for the line limit.
    static func unstructured(_ text: String) -> String {
        let clean = text.filter { !$0.isNewline }
        if clean.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 0x20 && $0.value != 0x7F }) { return clean }
        return words(clean)
    }

    /// A display name: quoted if ASCII, encoded otherwise.
    static func phrase(_ text: String) -> String {
        if text.unicodeScalars.allSatisfy({ $0.isASCII && $0.value >= 0x20 && $0.value != 0x7F }) {
            return "\"" + text.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"") + "\""
        }
        return words(text)
    }

    /// Encoded words of at most 45 bytes of text each (60 characters of base64), split between
    /// characters, never inside one.
    static func words(_ text: String) -> String {
        var words: [String] = []
        var chunk = ""
        for character in text {
            if chunk.utf8.count + String(character).utf8.count > 45 {
                words.append(chunk)
                chunk = ""
            }
            chunk.append(character)
        }
        if !chunk.isEmpty { words.append(chunk) }
        return words.map { "=?UTF-8?B?" + Data($0.utf8).base64EncodedString() + "?=" }.joined(separator: "\r\n ")
    }
}
