import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// A small SMTP client on SwiftNIO: one connection per mail, EHLO, STARTTLS (when offered, or
/// required) or TLS from the start, AUTH PLAIN when credentials are given, then
/// MAIL FROM, RCPT TO for each recipient and DATA with the message dot-stuffed. Any answer that
/// is not the expected one ends the conversation with `SMTPError.rejected`, whose code says
/// whether trying again later may help.
public struct SMTPClient: Sendable {
    public let configuration: SMTPConfiguration
    let group: any EventLoopGroup

    public init(configuration: SMTPConfiguration, group: any EventLoopGroup = MultiThreadedEventLoopGroup.singleton) {
        self.configuration = configuration
        self.group = group
    }

    /// Sends `message` to its recipients; returns once the server has accepted it (250 after DATA).
    public func send(_ message: MailMessage) async throws(SMTPError) {
        do {
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await self.converse(message) }
                group.addTask {
                    try await Task.sleep(for: self.configuration.timeout)
                    throw SMTPError.timedOut
                }
                try await group.next()
                group.cancelAll()
            }
        } catch let error as SMTPError {
            throw error
        } catch is CancellationError {
            throw .timedOut
        } catch {
            throw .connectionFailed("\(error)")
        }
    }

    func converse(_ message: MailMessage) async throws {
        let sslContext = configuration.security == .none ? nil : try NIOSSLContext(configuration: configuration.tls)
        // SNI and hostname checks take a name, never an address.
        let serverName = configuration.host.contains(where: { $0.isLetter }) && !configuration.host.contains(":") ? configuration.host : nil
        let (stream, continuation) = AsyncThrowingStream.makeStream(of: SMTPReply.self)
        let implicitTLS = configuration.security == .tls
        let channel: any Channel
        do {
            channel = try await ClientBootstrap(group: group)
                .connectTimeout(.seconds(10))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if implicitTLS, let sslContext {
                            try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: sslContext, serverHostname: serverName))
                        }
                        try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(SMTPLineDecoder()))
                        try channel.pipeline.syncOperations.addHandler(SMTPReplyHandler(continuation: continuation))
                    }
                }
                .connect(host: configuration.host, port: configuration.port)
                .get()
        } catch {
            throw SMTPError.connectionFailed("\(configuration.host):\(configuration.port): \(error)")
        }
        let conversation = SMTPConversation(channel: channel, replies: stream.makeAsyncIterator())
        do {
            try await conversation.expect(220, after: "connect")
            var extensions = try await conversation.hello(configuration.heloName)
            var encrypted = implicitTLS
            let offered = extensions.contains("STARTTLS")
            if configuration.security == .startTLSRequired || (configuration.security == .startTLSWhenOffered && (offered || configuration.username != nil)) {
                guard offered else { throw SMTPError.startTLSUnavailable }
                _ = try await conversation.command("STARTTLS", expecting: [220])
                guard let sslContext else { throw SMTPError.startTLSUnavailable }
                // Encryption goes in front of everything that reads and writes lines.
                try await channel.eventLoop.submit {
                    try channel.pipeline.syncOperations.addHandler(try NIOSSLClientHandler(context: sslContext, serverHostname: serverName), position: .first)
                }.get()
                extensions = try await conversation.hello(configuration.heloName)
                encrypted = true
            }
            if let username = configuration.username {
                // Credentials in clear only where the settings say the connection is trusted as it is.
                guard encrypted || configuration.security == .none else { throw SMTPError.startTLSUnavailable }
                guard extensions.contains(where: { $0.hasPrefix("AUTH") && $0.split(separator: " ").contains("PLAIN") }) else {
                    throw SMTPError.authUnavailable
                }
                let credentials = Data(("\0" + username + "\0" + (configuration.password ?? "")).utf8).base64EncodedString()
                _ = try await conversation.command("AUTH PLAIN " + credentials, name: "AUTH PLAIN", expecting: [235])
            }
            _ = try await conversation.command("MAIL FROM:<\(message.from.address)>", expecting: [250])
            for recipient in message.to {
                _ = try await conversation.command("RCPT TO:<\(recipient.address)>", expecting: [250, 251])
            }
            _ = try await conversation.command("DATA", expecting: [354])
            try await conversation.write(SMTPData.stuffed(message.rendered()))
            try await conversation.expect(250, after: "the message")
            _ = try? await conversation.command("QUIT", expecting: [221])
        } catch {
            try? await channel.close()
            throw error
        }
        try? await channel.close()
    }
}

/// One reply: its code and its lines' text (a multi-line reply has several).
struct SMTPReply: Sendable, Equatable {
    let code: Int
    let lines: [String]

    var message: String { lines.joined(separator: " ") }
}

/// The client's side of one conversation: commands out, replies in, in turn.
final class SMTPConversation {
    let channel: any Channel
    var replies: AsyncThrowingStream<SMTPReply, any Error>.AsyncIterator

    init(channel: any Channel, replies: AsyncThrowingStream<SMTPReply, any Error>.AsyncIterator) {
        self.channel = channel
        self.replies = replies
    }

    func write(_ text: String) async throws {
        do {
            try await channel.writeAndFlush(ByteBuffer(string: text)).get()
        } catch {
            throw SMTPError.connectionFailed("\(error)")
        }
    }

    func read(after command: String) async throws -> SMTPReply {
        guard let reply = try await replies.next() else { throw SMTPError.connectionFailed("the server closed the connection after \(command)") }
        return reply
    }

    func expect(_ code: Int, after command: String) async throws {
        let reply = try await read(after: command)
        guard reply.code == code else { throw SMTPError.rejected(command: command, code: reply.code, message: reply.message) }
    }

    /// Sends `line`; `name` is how errors name it (never the credentials of AUTH).
    func command(_ line: String, name: String? = nil, expecting codes: Set<Int>) async throws -> SMTPReply {
        let name = name ?? String(line.prefix(while: { $0 != ":" && $0 != " " }))
        try await write(line + "\r\n")
        let reply = try await read(after: name)
        guard codes.contains(reply.code) else { throw SMTPError.rejected(command: name, code: reply.code, message: reply.message) }
        return reply
    }

    /// EHLO; returns the extensions the server offers, upper-cased (`STARTTLS`, `AUTH PLAIN LOGIN`, ...).
    func hello(_ name: String) async throws -> [String] {
        let reply = try await command("EHLO " + name, name: "EHLO", expecting: [250])
        return reply.lines.dropFirst().map { $0.uppercased() }
    }
}

/// DATA's transparency rule (RFC 5321 4.5.2): every line end is CRLF, a line that starts with
/// "." gets another, and the message ends with a line holding only ".".
enum SMTPData {
    static func stuffed(_ message: String) -> String {
        let normalized = message.replacingOccurrences(of: "\r\n", with: "\n").replacingOccurrences(of: "\r", with: "\n")
        var lines = normalized.components(separatedBy: "\n")
        if lines.last == "" { lines.removeLast() }
        return lines.map { $0.hasPrefix(".") ? "." + $0 : $0 }.joined(separator: "\r\n") + "\r\n.\r\n"
    }
}

/// Splits the server's bytes into lines (CRLF or LF), at most 4,096 bytes each.
struct SMTPLineDecoder: ByteToMessageDecoder {
    typealias InboundOut = String

    static let maximumLine = 4096

    mutating func decode(context: ChannelHandlerContext, buffer: inout ByteBuffer) throws -> DecodingState {
        guard let end = buffer.readableBytesView.firstIndex(of: UInt8(ascii: "\n")) else {
            if buffer.readableBytes > Self.maximumLine { throw SMTPError.connectionFailed("a reply line longer than \(Self.maximumLine) bytes") }
            return .needMoreData
        }
        let length = end - buffer.readerIndex
        var line = buffer.readString(length: length) ?? ""
        buffer.moveReaderIndex(forwardBy: 1)
        if line.hasSuffix("\r") { line.removeLast() }
        context.fireChannelRead(Self.wrapInboundOut(line))
        return .continue
    }
}

/// Gathers reply lines (`250-...` continues, `250 ...` ends) into replies for the conversation.
final class SMTPReplyHandler: ChannelInboundHandler {
    typealias InboundIn = String

    let continuation: AsyncThrowingStream<SMTPReply, any Error>.Continuation
    var pending: [String] = []

    init(continuation: AsyncThrowingStream<SMTPReply, any Error>.Continuation) {
        self.continuation = continuation
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let line = Self.unwrapInboundIn(data)
        let bytes = Array(line.utf8)
        guard bytes.count >= 3, let code = Int(String(decoding: bytes[0..<3], as: UTF8.self)), (200...599).contains(code),
            bytes.count == 3 || bytes[3] == UInt8(ascii: " ") || bytes[3] == UInt8(ascii: "-")
        else {
            continuation.finish(throwing: SMTPError.connectionFailed("not an SMTP reply: \(line.prefix(80))"))
            context.close(promise: nil)
            return
        }
        pending.append(bytes.count > 4 ? String(decoding: bytes[4...], as: UTF8.self) : "")
        if bytes.count == 3 || bytes[3] == UInt8(ascii: " ") {
            continuation.yield(SMTPReply(code: code, lines: pending))
            pending = []
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        continuation.finish()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        continuation.finish(throwing: SMTPError.connectionFailed("\(error)"))
        context.close(promise: nil)
    }
}
