import AsyncHTTPClient
import Contracts
import ServiceClient
import Foundation
import NIOCore
import Signatures
import NIOHTTP1
import NIOFoundationEssentialsCompat

/// Where one outbox destination is delivered, and signed with which secret (the receiving service's).
public struct OutboxEndpoint: Sendable {
    public let url: String
    public let signatures: SignatureScheme

    public init(url: String, signatures: SignatureScheme) {
        self.url = url
        self.signatures = signatures
    }

    /// `destination`'s route on the service at `baseURL`.
    public init(_ destination: OutboxDestination, at baseURL: String, signatures: SignatureScheme) {
        self.init(url: baseURL + destination.path, signatures: signatures)
    }
}

/// Posts outbox messages to their destination's URL, many to a request as
/// `{"<destination's batch key>": [...]}`, signed (v2) with `X-CareForAll-Signature`, and reads
/// what became of each from the receiver's `IngestResults`:
/// - a 2xx delivers every message, except those its `results` call `rejected`: those are dead, with the receiver's reason;
/// - a 4xx other than 401, 408 and 429 means the request itself cannot succeed: a batch is split
///   in halves and each half sent again, so one bad message (too large, malformed) ends dead alone
///   and never holds back the rows claimed with it;
/// - 401, 408, 429, 5xx and transport errors may pass: those messages are retried later.
/// Batches are sized to at most `maximumBatchBytes` and `maximumBatchCount`.
public struct HTTPEventTransport: OutboxTransport {
    let endpoints: [OutboxDestination: OutboxEndpoint]
    let client: HTTPClient
    let timeout: TimeAmount
    let maximumBatchBytes: Int
    let maximumBatchCount: Int

    public init(
        endpoints: [OutboxDestination: OutboxEndpoint], client: HTTPClient = .betweenServices, timeout: TimeAmount = .seconds(10),
        maximumBatchBytes: Int = 1 << 20, maximumBatchCount: Int = 1000
    ) {
        self.endpoints = endpoints
        self.client = client
        self.timeout = timeout
        self.maximumBatchBytes = maximumBatchBytes
        self.maximumBatchCount = maximumBatchCount
    }

    /// Every destination at one URL, all signed with `signatures` (tests).
    public init(urls: [OutboxDestination: String], signatures: SignatureScheme, client: HTTPClient = .betweenServices, timeout: TimeAmount = .seconds(10)) {
        self.init(endpoints: urls.mapValues { OutboxEndpoint(url: $0, signatures: signatures) }, client: client, timeout: timeout)
    }

    public func deliver(_ messages: [OutboxMessage], to destination: OutboxDestination) async throws -> [String: DeliveryResult] {
        guard let endpoint = endpoints[destination] else { throw TransportError.unknownDestination(destination) }
        var results: [String: DeliveryResult] = [:]
        let key = destination.batchKey
        for chunk in Self.chunks(messages, maximumBytes: maximumBatchBytes - Self.batchOverhead(key), maximumCount: maximumBatchCount) {
            try await sendBatch(chunk, key: key, to: endpoint, into: &results)
        }
        return results
    }

    /// `{"<key>":[` and `]}`.
    static func batchOverhead(_ key: String) -> Int {
        key.utf8.count + 6
    }

    /// Consecutive runs of `messages` whose payloads (and the commas between them) fit in
    /// `maximumBytes`; a message larger than that on its own is a run of one.
    static func chunks(_ messages: [OutboxMessage], maximumBytes: Int, maximumCount: Int) -> [[OutboxMessage]] {
        var chunks: [[OutboxMessage]] = []
        var current: [OutboxMessage] = []
        var size = 0
        for message in messages {
            let bytes = message.payload.utf8.count + 1
            if !current.isEmpty && (size + bytes > maximumBytes || current.count >= maximumCount) {
                chunks.append(current)
                current = []
                size = 0
            }
            current.append(message)
            size += bytes
        }
        if !current.isEmpty { chunks.append(current) }
        return chunks
    }

    func sendBatch(_ messages: [OutboxMessage], key: String, to endpoint: OutboxEndpoint, into results: inout [String: DeliveryResult]) async throws {
        // Payloads are stored as the exact JSON to send; the batch only wraps them.
        let body = "{\"" + key + "\":[" + messages.map(\.payload).joined(separator: ",") + "]}"
        let answer: Answer
        do {
            // Each event carries its own trace in its envelope; the request's header names a trace
            // only when every event of the batch shares it, so no event lends its trace to others.
            let traces = Set(messages.map(\.traceParent))
            answer = try await post(body, traceParent: traces.count == 1 ? messages.first?.traceParent : nil, to: endpoint)
        } catch {
            if results.isEmpty { throw error }
            for message in messages { results[message.id] = .retry(reason: "\(error)") }
            return
        }
        switch answer.outcome {
        case .accepted:
            let rejected = Self.rejections(in: answer.body)
            for message in messages {
                results[message.id] = rejected[message.id].map { .dead(reason: "rejected: \($0)") } ?? .delivered
            }
        case .refused where messages.count > 1:
            // Which one is the receiver refusing? Halve until each bad message stands alone.
            let middle = messages.count / 2
            try await sendBatch(Array(messages[..<middle]), key: key, to: endpoint, into: &results)
            try await sendBatch(Array(messages[middle...]), key: key, to: endpoint, into: &results)
        case .refused:
            results[messages[0].id] = .dead(reason: answer.summary)
        case .transient:
            for message in messages { results[message.id] = .retry(reason: answer.summary) }
        }
    }

    struct Answer {
        enum Outcome {
            case accepted
            case refused
            case transient
        }

        let status: Int
        let body: String

        var outcome: Outcome {
            switch status {
            case 200..<300: .accepted
            case 401, 408, 429: .transient
            case 400..<500: .refused
            default: .transient
            }
        }

        var summary: String { "HTTP \(status): \(body.prefix(200))" }
    }

    func post(_ text: String, traceParent: String?, to endpoint: OutboxEndpoint) async throws -> Answer {
        let (status, answer) = try await client.postSigned(
            Data(text.utf8), to: endpoint.url, signatures: endpoint.signatures, traceParent: traceParent, timeout: timeout
        )
        return Answer(status: status, body: String(buffer: answer))
    }

    /// Event id to reason, for each `rejected` result of a batch answer.
    static func rejections(in body: String) -> [String: String] {
        guard let results = try? WireCoding.decoder.decode(IngestResults.self, from: Data(body.utf8)).results else { return [:] }
        var rejected: [String: String] = [:]
        for result in results where result.result == .rejected {
            if let id = result.eventId { rejected[id] = result.reason ?? "no reason given" }
        }
        return rejected
    }

    enum TransportError: Error {
        case unknownDestination(OutboxDestination)
    }
}
