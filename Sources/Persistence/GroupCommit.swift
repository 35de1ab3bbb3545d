import Synchronization

/// Group commit: concurrent callers' items are written together, one transaction for all the
/// items that arrived while earlier ones were being written, so a burst of small writes costs a
/// few commits instead of one each. At most `maximumWriters` batches are in flight; an idle
/// committer writes a lone item at once, so nothing waits for a timer.
///
/// The caller that starts a batch writes it in a task of its own (one request's cancellation
/// never fails the others), then hands the next batch to one of its callers. Items with the same
/// `key` never share a batch: the later one waits for the earlier one's commit, then sees it.
/// When a batch fails, its items are written one by one, so one bad item fails alone.
public final class GroupCommitter<Item: Sendable, Output: Sendable>: Sendable {
    public typealias Write = @Sendable ([Item]) async throws -> [Output]

    enum Turn {
        case done(Result<Output, any Error>)
        case lead([Waiter])
    }

    struct Waiter {
        let id: UInt64
        let item: Item
        let continuation: CheckedContinuation<Turn, Never>
    }

    struct State {
        var queue: [Waiter] = []
        var writers = 0
        var lastId: UInt64 = 0
    }

    let maximumBatch: Int
    let maximumWriters: Int
    let key: (@Sendable (Item) -> String)?
    let write: Write
    private let state = Mutex(State())

    /// - Parameters:
    ///   - write: writes a batch in one transaction and returns one output per item, in order.
    ///   - key: items with the same key are never in one batch (nil: any items may share one).
    public init(maximumBatch: Int = 100, maximumWriters: Int = 4, key: (@Sendable (Item) -> String)? = nil, write: @escaping Write) {
        self.maximumBatch = maximumBatch
        self.maximumWriters = maximumWriters
        self.key = key
        self.write = write
    }

    /// Items waiting for a batch (not those being written).
    public var waiting: Int {
        state.withLock { $0.queue.count }
    }

    /// Writes `item` with whatever else is waiting; returns its output once its batch committed.
    public func submit(_ item: Item) async throws -> Output {
        let id = state.withLock { state in
            state.lastId &+= 1
            return state.lastId
        }
        let turn = await withCheckedContinuation { (continuation: CheckedContinuation<Turn, Never>) in
            let batch = state.withLock { state -> [Waiter]? in
                state.queue.append(Waiter(id: id, item: item, continuation: continuation))
                guard state.writers < maximumWriters else { return nil }
                state.writers += 1
                return take(from: &state.queue, first: state.queue.count - 1)
            }
            // The batch starts with this caller: it writes it.
            if let batch { batch[0].continuation.resume(returning: .lead(batch)) }
        }
        switch turn {
        case .done(let result):
            return try result.get()
        case .lead(let batch):
            let results = await Task { await self.results(of: batch) }.value
            var own: Result<Output, any Error> = .failure(CancellationError())
            for (waiter, result) in zip(batch, results) {
                if waiter.id == id { own = result } else { waiter.continuation.resume(returning: .done(result)) }
            }
            let next = state.withLock { state -> [Waiter]? in
                guard !state.queue.isEmpty else {
                    state.writers -= 1
                    return nil
                }
                return take(from: &state.queue, first: 0)
            }
            if let next { next[0].continuation.resume(returning: .lead(next)) }
            return try own.get()
        }
    }

    /// The waiter at `first`, then others in arrival order, up to `maximumBatch`, no key twice.
    func take(from queue: inout [Waiter], first: Int) -> [Waiter] {
        var batch = [queue.remove(at: first)]
        var keys: Set<String> = key.map { [$0(batch[0].item)] } ?? []
        var left: [Waiter] = []
        for waiter in queue {
            if batch.count < maximumBatch, key.map({ keys.insert($0(waiter.item)).inserted }) ?? true {
                batch.append(waiter)
            } else {
                left.append(waiter)
            }
        }
        queue = left
        return batch
    }

    func results(of batch: [Waiter]) async -> [Result<Output, any Error>] {
        do {
            let outputs = try await write(batch.map(\.item))
            guard outputs.count == batch.count else { throw GroupCommitError.outputCount(outputs.count, batch.count) }
            return outputs.map { .success($0) }
        } catch {
            guard batch.count > 1 else { return [.failure(error)] }
            // One item may be what failed the batch: each on its own, so only it fails.
            var results: [Result<Output, any Error>] = []
            for waiter in batch {
                do {
                    guard let output = try await write([waiter.item]).first else { throw GroupCommitError.outputCount(0, 1) }
                    results.append(.success(output))
                } catch {
                    results.append(.failure(error))
                }
            }
            return results
        }
    }
}

public enum GroupCommitError: Error, Equatable {
    /// The write returned another number of outputs than it was given items.
    case outputCount(Int, Int)
}
