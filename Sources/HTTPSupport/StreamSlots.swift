import HTTPTypes
import Synchronization

/// Counts long-lived responses (live totals streams), per client and in all, and refuses one
/// past either cap, so streams can never take every connection a server or proxy has. A slot is
/// given back when its `Slot` is gone (the stream ended, the client left, or the response was
/// never written), so none leaks.
public final class StreamSlots: Sendable {
    public let perClient: Int?
    public let total: Int
    private let state = Mutex<(total: Int, byClient: [String: Int])>((0, [:]))

    public init(perClient: Int? = nil, total: Int) {
        self.perClient = perClient
        self.total = total
    }

    public final class Slot: Sendable {
        let owner: StreamSlots
        let client: String?

        init(owner: StreamSlots, client: String?) {
            self.owner = owner
            self.client = client
        }

        deinit {
            owner.giveBack(client: client)
        }
    }

    /// A slot for `client`, or the refusal: 429 when this client holds its share, 503 when all are taken.
    public func take(client: String?) throws -> Slot {
        try state.withLock { state in
            guard state.total < total else {
                throw APIError(.serviceUnavailable, code: "too_many_streams", message: "Too many live streams are open; try again shortly.",
                               headers: [.retryAfter: "5"])
            }
            if let perClient, let client {
                guard state.byClient[client, default: 0] < perClient else {
                    throw APIError(.tooManyRequests, code: "too_many_streams", message: "This client already has \(perClient) live streams open.",
                                   headers: [.retryAfter: "5"])
                }
                state.byClient[client, default: 0] += 1
            }
            state.total += 1
            return ()
        }
        return Slot(owner: self, client: client)
    }

    /// Streams open now.
    public var open: Int { state.withLock { $0.total } }

    fileprivate func giveBack(client: String?) {
        state.withLock { state in
            state.total -= 1
            if perClient != nil, let client {
                let left = state.byClient[client, default: 1] - 1
                state.byClient[client] = left > 0 ? left : nil
            }
        }
    }
}
