import Foundation
import NIOSSL
import Testing
@testable import SMTP

private let from = MailAddress("receipts@careforall.example", name: "CareForAll")!
private let ada = MailAddress("ada@example.org", name: "Ada Lovelace")!

private func message(to: [MailAddress] = [ada], subject: String = "Your receipt") -> MailMessage {
    MailMessage(
        from: from, to: to, subject: subject, text: "Thank you.\n.\nA line with only a dot above.",
        html: "<p>Thank you.</p>", messageId: MailMessage.makeMessageId(domain: "careforall.example")
    )
}

/// The parts of a rendered message: its headers and its decoded text and HTML.
private func decodeParts(_ rendered: String) -> (headers: [String], text: String?, html: String?) {
    let lines = rendered.components(separatedBy: "\r\n")
    let headers = Array(lines.prefix(while: { !$0.isEmpty }))
    var parts: [String: String] = [:]
    var type: String?
    var body: [String]?
    for line in lines {
        if line.hasPrefix("Content-Type: text/") { type = String(line.dropFirst(14).prefix(while: { $0 != ";" })); body = nil; continue }
        if line.isEmpty, type != nil, body == nil { body = []; continue }
        if line.hasPrefix("--") { if let type, let body { parts[type] = String(decoding: Data(base64Encoded: body.joined()) ?? Data(), as: UTF8.self) }; type = nil; body = nil; continue }
        if body != nil, !line.hasPrefix("Content-") { body?.append(line) }
    }
    return (headers, parts["text/plain"], parts["text/html"])
}

@Suite("SMTP: messages")
struct MailMessageTests {
    @Test("a rendered message has From, To, Subject, Date, Message-ID and both parts in base64; no line is longer than 78")
    func rendering() throws {
        let mail = message(subject: "Reçu n° CFA-2026-000042")
        let rendered = mail.rendered()
        let (headers, text, html) = decodeParts(rendered)
        #expect(headers.contains("From: \"CareForAll\" <receipts@careforall.example>"))
        #expect(headers.contains("To: \"Ada Lovelace\" <ada@example.org>"))
        #expect(headers.contains("Message-ID: \(mail.messageId)"))
        #expect(headers.contains("MIME-Version: 1.0"))
        let subject = try #require(headers.first { $0.hasPrefix("Subject: ") })
        #expect(subject.hasPrefix("Subject: =?UTF-8?B?"))
        let date = try #require(headers.first { $0.hasPrefix("Date: ") })
        #expect(date.wholeMatch(of: /Date: [A-Z][a-z]{2}, \d{2} [A-Z][a-z]{2} \d{4} \d{2}:\d{2}:\d{2} \+0000/) != nil, "\(date)")
        #expect(mail.messageId.wholeMatch(of: /<[0-9a-f-]{36}@careforall\.example>/) != nil)
        #expect(text == mail.text && html == mail.html)
        #expect(rendered.components(separatedBy: "\r\n").allSatisfy { $0.utf8.count <= 78 })
        #expect(!rendered.replacingOccurrences(of: "\r\n", with: "").contains("\n"), "only CRLF line ends")
    }

    @Test("addresses that could inject a header or a command are refused; names lose their line breaks")
    func addresses() {
        #expect(MailAddress("ada@example.org") != nil)
        for bad in ["ada@example.org\r\nRCPT TO:<x@y.z>", "a da@example.org", "<ada@example.org>", "ada", "ada@localhost", "@example.org", "ada@example.org>"] {
            #expect(MailAddress(bad) == nil, "\(bad)")
        }
        #expect(MailAddress("ada@example.org", name: "Ada\r\nBcc: x@y.z")?.name == "AdaBcc: x@y.z")
        #expect(MailAddress("ada@example.org", name: "Zoë")?.description.hasPrefix("=?UTF-8?B?") == true)
    }

    @Test("DATA is dot-stuffed and ends with a lone dot; bare line feeds become CRLF")
    func dotStuffing() {
        #expect(SMTPData.stuffed(".hidden\n..two\nplain\r\n") == "..hidden\r\n...two\r\nplain\r\n.\r\n")
        #expect(SMTPData.stuffed("no end") == "no end\r\n.\r\n")
    }

    @Test("SMTP_URL: STARTTLS when offered by default, required or never when asked, smtps is TLS from the start; credentials percent-decoded")
    func urls() throws {
        let plain = try SMTPConfiguration(url: "smtp://mail.example.org")
        #expect(plain.security == .startTLSWhenOffered && plain.port == 587 && plain.username == nil)
        #expect(try SMTPConfiguration(url: "smtp://mail.example.org?starttls=required").security == .startTLSRequired)
        let catcher = try SMTPConfiguration(url: "smtp://127.0.0.1:1025?starttls=never")
        #expect(catcher.security == .none && catcher.port == 1025)
        let secure = try SMTPConfiguration(url: "smtps://user%40example.org:p%3Ass@smtp.example.org")
        #expect(secure.security == .tls && secure.port == 465 && secure.username == "user@example.org" && secure.password == "p:ss")
        for bad in ["http://mail.example.org", "smtp://", "mail.example.org", "smtp://h?starttls=maybe"] {
            #expect(throws: SMTPError.self, "\(bad)") { try SMTPConfiguration(url: bad) }
        }
    }
}

@Suite("SMTP: conversations with a server")
struct SMTPClientTests {
    @Test("in clear (starttls=never) with AUTH PLAIN: the server receives the message exactly as rendered")
    func plainWithAuth() async throws {
        try await FakeSMTPServer.with(.init(credentials: ("mailer", "s3cret"))) { server, port in
            let client = SMTPClient(configuration: try SMTPConfiguration(url: "smtp://mailer:s3cret@127.0.0.1:\(port)?starttls=never"))
            let mail = message(to: [ada, MailAddress("bob@example.org")!])
            try await client.send(mail)
            let received = try #require(server.messages.first)
            #expect(received.from == "receipts@careforall.example" && received.to == ["ada@example.org", "bob@example.org"])
            #expect(received.data == mail.rendered() && !received.encrypted)
            #expect(server.commands.map { String($0.prefix(4)) } == ["EHLO", "AUTH", "MAIL", "RCPT", "RCPT", "DATA", "QUIT"])
            #expect(!server.commands.joined().contains("s3cret"))
        }
    }

    @Test("STARTTLS: the client upgrades before AUTH and MAIL, and verifies the server's certificate")
    func startTLS() async throws {
        let (certificate, key) = try TestCertificate.make()
        let serverTLS = try NIOSSLContext(configuration: .makeServerConfiguration(certificateChain: [.certificate(certificate)], privateKey: .privateKey(key)))
        try await FakeSMTPServer.with(.init(tls: serverTLS, credentials: ("mailer", "s3cret"))) { server, port in
            var configuration = try SMTPConfiguration(url: "smtp://mailer:s3cret@localhost:\(port)")
            configuration.tls.trustRoots = .certificates([certificate])
            try await SMTPClient(configuration: configuration).send(message())
            #expect(server.messages.count == 1 && server.messages.first?.encrypted == true)
            #expect(server.commands.map { String($0.prefix(4)) } == ["EHLO", "STAR", "EHLO", "AUTH", "MAIL", "RCPT", "DATA", "QUIT"])

            // A certificate the client does not trust: nothing is sent.
            let untrusting = SMTPClient(configuration: try SMTPConfiguration(url: "smtp://mailer:s3cret@localhost:\(port)"))
            await #expect(throws: SMTPError.self) { try await untrusting.send(message()) }
            #expect(server.messages.count == 1)
        }
    }

    @Test("STARTTLS not offered: sent in clear by default, refused when required or when there are credentials to send")
    func startTLSMissing() async throws {
        try await FakeSMTPServer.with(.init(credentials: nil)) { server, port in
            for url in ["smtp://127.0.0.1:\(port)?starttls=required", "smtp://mailer:s3cret@127.0.0.1:\(port)"] {
                let client = SMTPClient(configuration: try SMTPConfiguration(url: url))
                await #expect(throws: SMTPError.startTLSUnavailable) { try await client.send(message()) }
            }
            #expect(server.messages.isEmpty && !server.commands.contains { $0.hasPrefix("MAIL") || $0.hasPrefix("AUTH") })
            try await SMTPClient(configuration: try SMTPConfiguration(url: "smtp://127.0.0.1:\(port)")).send(message())
            #expect(server.messages.count == 1 && server.messages.first?.encrypted == false)
        }
    }

    @Test("refusals say whether to try again: a refused recipient or bad credentials is permanent; a busy server or none at all is temporary")
    func refusals() async throws {
        try await FakeSMTPServer.with(.init(credentials: ("mailer", "s3cret"))) { server, port in
            let wrong = SMTPClient(configuration: try SMTPConfiguration(url: "smtp://mailer:nope@127.0.0.1:\(port)?starttls=never"))
            do {
                try await wrong.send(message())
                Issue.record("sent with a wrong password")
            } catch let error as SMTPError {
                #expect(error == .rejected(command: "AUTH PLAIN", code: 535, message: "5.7.8 bad credentials") && !error.isTemporary)
            }
            let right = SMTPClient(configuration: try SMTPConfiguration(url: "smtp://mailer:s3cret@127.0.0.1:\(port)?starttls=never"))
            do {
                try await right.send(message(to: [MailAddress("nobody@refused.example")!]))
                Issue.record("sent to a refused recipient")
            } catch let error as SMTPError {
                #expect(error.isTemporary == false && "\(error)".contains("550"))
            }
            #expect(server.messages.isEmpty)
        }
        try await FakeSMTPServer.with(.init(greeting: 421)) { _, port in
            do {
                try await SMTPClient(configuration: try SMTPConfiguration(url: "smtp://127.0.0.1:\(port)?starttls=never")).send(message())
                Issue.record("sent to a busy server")
            } catch let error as SMTPError {
                #expect(error.isTemporary)
            }
        }
        let closedPort = try await FakeSMTPServer.with { _, port in port }
        do {
            try await SMTPClient(configuration: try SMTPConfiguration(url: "smtp://127.0.0.1:\(closedPort)?starttls=never")).send(message())
            Issue.record("sent to nobody")
        } catch {
            #expect(error.isTemporary, "\(error)")
        }
    }
}
