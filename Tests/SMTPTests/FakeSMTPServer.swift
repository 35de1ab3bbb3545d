import Foundation
import NIOCore
import NIOPosix
import NIOSSL
import Synchronization
@testable import SMTP

/// An SMTP server for the client's tests, on a loopback port: it offers STARTTLS when given a
/// certificate, checks AUTH PLAIN when given credentials, refuses recipients at `refused.example`,
/// and keeps every command and every message it accepted (with dot-stuffing undone).
final class FakeSMTPServer: Sendable {
    struct Options: Sendable {
        var greeting = 220
        var tls: NIOSSLContext?
        var credentials: (user: String, password: String)?
    }

    struct Received: Sendable, Equatable {
        let from: String
        let to: [String]
        let data: String
        let encrypted: Bool
    }

    let options: Options
    private let state = Mutex<(commands: [String], messages: [Received])>(([], []))
    private let channel: Mutex<(any Channel)?> = Mutex(nil)

    init(_ options: Options = Options()) {
        self.options = options
    }

    var commands: [String] { state.withLock { $0.commands } }
    var messages: [Received] { state.withLock { $0.messages } }

    func record(command: String) { state.withLock { $0.commands.append(command) } }
    func record(message: Received) { state.withLock { $0.messages.append(message) } }

    /// Starts listening; returns the port.
    func start() async throws -> Int {
        let bound = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(ByteToMessageHandler(SMTPLineDecoder()))
                    try channel.pipeline.syncOperations.addHandler(FakeSMTPSession(server: self))
                }
            }
            .bind(host: "127.0.0.1", port: 0)
            .get()
        channel.withLock { $0 = bound }
        return bound.localAddress?.port ?? 0
    }

    func stop() async {
        try? await channel.withLock { $0 }?.close()
    }

    /// Starts a server, runs `body` with its port, stops it.
    static func with<T>(_ options: Options = Options(), _ body: (FakeSMTPServer, Int) async throws -> T) async throws -> T {
        let server = FakeSMTPServer(options)
        let port = try await server.start()
        do {
            let result = try await body(server, port)
            await server.stop()
            return result
        } catch {
            await server.stop()
            throw error
        }
    }
}

/// One client's session with the fake server.
final class FakeSMTPSession: ChannelInboundHandler {
    typealias InboundIn = String
    typealias OutboundOut = ByteBuffer

    let server: FakeSMTPServer
    var encrypted = false
    var authenticated = false
    var from: String?
    var to: [String] = []
    var data: [String]?

    init(server: FakeSMTPServer) { self.server = server }

    func channelActive(context: ChannelHandlerContext) {
        reply(context, server.options.greeting == 220 ? "220 fake.example ESMTP ready" : "\(server.options.greeting) fake.example busy, try later")
        if server.options.greeting != 220 { context.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let line = Self.unwrapInboundIn(data)
        if var lines = self.data {
            guard line != "." else {
                // Undo the client's dot-stuffing.
                let body = lines.map { $0.hasPrefix(".") ? String($0.dropFirst()) : $0 }.joined(separator: "\r\n") + "\r\n"
                server.record(message: .init(from: from ?? "", to: to, data: body, encrypted: encrypted))
                self.data = nil
                reply(context, "250 2.0.0 queued")
                return
            }
            lines.append(line)
            self.data = lines
            return
        }
        server.record(command: line.hasPrefix("AUTH PLAIN") ? "AUTH PLAIN ***" : line)
        let verb = line.split(separator: " ", maxSplits: 1).first.map { $0.uppercased() } ?? ""
        switch verb {
        case "EHLO":
            var lines = ["fake.example"]
            if server.options.tls != nil && !encrypted { lines.append("STARTTLS") }
            if server.options.credentials != nil { lines.append("AUTH PLAIN LOGIN") }
            lines.append("8BITMIME")
            reply(context, lines.enumerated().map { "250" + ($0.offset == lines.count - 1 ? " " : "-") + $0.element }.joined(separator: "\r\n"))
        case "STARTTLS":
            guard let tls = server.options.tls, !encrypted else { return reply(context, "502 5.5.1 not offered") }
            reply(context, "220 2.0.0 go ahead")
            encrypted = true
            try? context.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls), position: .first)
        case "AUTH":
            guard let credentials = server.options.credentials else { return reply(context, "502 5.5.1 not offered") }
            let given = line.split(separator: " ").dropFirst(2).first.flatMap { Data(base64Encoded: String($0)) }
            let expected = Data(("\0" + credentials.user + "\0" + credentials.password).utf8)
            authenticated = given == expected
            reply(context, authenticated ? "235 2.7.0 authenticated" : "535 5.7.8 bad credentials")
        case "MAIL":
            if server.options.credentials != nil && !authenticated { return reply(context, "530 5.7.0 authentication required") }
            from = Self.address(in: line)
            to = []
            reply(context, "250 2.1.0 ok")
        case "RCPT":
            let address = Self.address(in: line)
            if address.hasSuffix("@refused.example") { return reply(context, "550 5.1.1 no such user") }
            to.append(address)
            reply(context, "250 2.1.5 ok")
        case "DATA":
            guard from != nil, !to.isEmpty else { return reply(context, "503 5.5.1 need MAIL and RCPT") }
            self.data = []
            reply(context, "354 end with .")
        case "QUIT":
            reply(context, "221 2.0.0 bye")
            context.close(promise: nil)
        default:
            reply(context, "500 5.5.2 unknown command")
        }
    }

    func reply(_ context: ChannelHandlerContext, _ text: String) {
        context.writeAndFlush(Self.wrapOutboundOut(ByteBuffer(string: text + "\r\n")), promise: nil)
    }

    static func address(in line: String) -> String {
        guard let open = line.firstIndex(of: "<"), let close = line.lastIndex(of: ">"), open < close else { return "" }
        return String(line[line.index(after: open)..<close])
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// A self-signed certificate for `localhost`, made with the openssl command line.
enum TestCertificate {
    static func make() throws -> (certificate: NIOSSLCertificate, key: NIOSSLPrivateKey) {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("smtp-cert-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = [
            "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes", "-days", "1", "-subj", "/CN=localhost",
            "-addext", "subjectAltName=DNS:localhost", "-keyout", directory.appendingPathComponent("key.pem").path,
            "-out", directory.appendingPathComponent("cert.pem").path,
        ]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else { throw CertificateError.opensslFailed }
        return (
            try NIOSSLCertificate.fromPEMFile(directory.appendingPathComponent("cert.pem").path)[0],
            try NIOSSLPrivateKey(file: directory.appendingPathComponent("key.pem").path, format: .pem)
        )
    }

    enum CertificateError: Error { case opensslFailed }
}
