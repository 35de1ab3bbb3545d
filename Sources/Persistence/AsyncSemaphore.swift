import Synchronization

/// First-come, first-served permits for async code: `acquire` suspends (never blocks a thread)
/// until one of `permits` is free. With one permit it is a lock (`withPermit`).
public final class AsyncSemaphore: Sendable {
    private struct State {
        var free: Int
        var waiters: [CheckedContinuation<Void, Never>] = []
    }
    private let state: Mutex<State>
    public let permits: Int

    public init(permits: Int = 1) {
        precondition(permits > 0, "a semaphore needs at least one permit")
        self.permits = permits
        state = Mutex(State(free: permits))
    }

    public func withPermit<Result: Sendable>(_ body: @Sendable () async throws -> Result) async throws -> Result {
        await acquire()
        defer { release() }
        return try await body()
    }

    public func acquire() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let acquired = state.withLock { state -> Bool in
                guard state.free > 0 else {
                    state.waiters.append(continuation)
                    return false
                }
                state.free -= 1
                return true
            }
            if acquired { continuation.resume() }
        }
    }

    /// Returns once every permit has been free at the same moment (no holder left).
    public func waitUntilAllFree() async {
        for _ in 0..<permits { await acquire() }
        for _ in 0..<permits { release() }
    }

    public func release() {
        let next = state.withLock { state -> CheckedContinuation<Void, Never>? in
            guard !state.waiters.isEmpty else {
                state.free += 1
                return nil
            }
            // Hand the permit straight to the next waiter.
            return state.waiters.removeFirst()
        }
        next?.resume()
    }
}
