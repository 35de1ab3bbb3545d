/// Polls `condition` until it holds or `timeout` passes: tests wait on state, never on sleeps alone.
public func eventually(
    timeout: Duration = .seconds(20),
    every interval: Duration = .milliseconds(50),
    _ condition: @Sendable () async throws -> Bool
) async throws -> Bool {
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
        if (try? await condition()) == true { return true }
        try await Task.sleep(for: interval)
    }
    return try await condition()
}
