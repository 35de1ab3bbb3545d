import Synchronization

/// Thrown by `within(seconds:_:)` when the work did not finish in time.
public struct DeadlineExceeded: Error, CustomStringConvertible {
    public let seconds: Double
    public var description: String { "still running after \(seconds) s" }
}

/// Runs `body`, and returns or throws what it does, unless it takes longer than `seconds`: then
/// throws `DeadlineExceeded` at once, leaving `body` running. For tests of code that used to hang
/// on an await nothing would ever resume (a task group would wait for it: this does not).
public func within<Value: Sendable>(seconds: Double, _ body: @escaping @Sendable () async throws -> Value) async throws -> Value {
    let answered = Mutex(false)
    let first: @Sendable () -> Bool = { answered.withLock { done in defer { done = true }; return !done } }
    return try await withCheckedThrowingContinuation { continuation in
        Task {
            let result: Result<Value, any Error>
            do { result = .success(try await body()) } catch { result = .failure(error) }
            if first() { continuation.resume(with: result) }
        }
        Task {
            try? await Task.sleep(for: .seconds(seconds))
            if first() { continuation.resume(throwing: DeadlineExceeded(seconds: seconds)) }
        }
    }
}
