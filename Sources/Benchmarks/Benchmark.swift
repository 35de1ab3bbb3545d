import ArgumentParser
import AsyncHTTPClient
import Foundation
import NIOCore
import NIOFoundationEssentialsCompat
import NIOHTTP1

/// `benchmark ingest`, `benchmark pledges` and `benchmark donations`, driven by `scripts/bench`. They print figures and
/// never assert: speed is measured here, not in tests.
@main
struct Benchmark: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "benchmark", abstract: "CareForAll benchmarks.", subcommands: [IngestBenchmark.self, PledgeBenchmark.self, DonationBenchmark.self, BareServer.self, BareProxy.self]
    )
}

enum BenchmarkError: Error {
    case status(Int, String)
    case timedOut(String)
}

enum Timestamp {
    static func now() -> String {
        Date().formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true, timeZone: .gmt))
    }
}

/// The report goes to stdout: it is this tool's output, not a log.
func say(_ line: String) {
    FileHandle.standardOutput.write(Data((line + "\n").utf8))
}

/// Runs `work` over `items` with at most `concurrency` in flight; returns the sum of what the
/// calls returned and the seconds it all took.
func inParallel<Item: Sendable>(
    _ items: [Item], concurrency: Int, _ work: @escaping @Sendable (Item) async throws -> Int
) async throws -> (Int, Double) {
    let start = ContinuousClock.now
    let total = try await withThrowingTaskGroup(of: Int.self) { group in
        var next = 0
        var total = 0
        while next < min(concurrency, items.count) {
            let item = items[next]
            group.addTask { try await work(item) }
            next += 1
        }
        while let value = try await group.next() {
            total += value
            if next < items.count {
                let item = items[next]
                group.addTask { try await work(item) }
                next += 1
            }
        }
        return total
    }
    let elapsed = ContinuousClock.now - start
    return (total, Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18)
}

/// The benchmarks' client: room for an open loop's many requests in flight at once.
let benchClient: HTTPClient = {
    var configuration = HTTPClient.Configuration()
    configuration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 256
    // Also how long a call may wait for one of those connections: an open loop that offers more
    // than the platform does queues here, and a queued call is slow (its latency counts from its
    // scheduled time), not failed.
    configuration.timeout.connect = .seconds(60)
    return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
}()

/// POSTs a JSON body and returns the answer; any other status than `expect` throws.
func post(_ url: String, body: Data, headers: [String: String] = [:], expect: Int) async throws -> String {
    var request = HTTPClientRequest(url: url)
    request.method = .POST
    request.headers.add(name: "Content-Type", value: "application/json")
    for (name, value) in headers { request.headers.add(name: name, value: value) }
    request.body = .bytes(ByteBuffer(data: body))
    let response = try await benchClient.execute(request, timeout: .seconds(60))
    let answer = String(buffer: try await response.body.collect(upTo: 1 << 22))
    guard Int(response.status.code) == expect else { throw BenchmarkError.status(Int(response.status.code), answer) }
    return answer
}

func getJSON(_ url: String) async throws -> [String: Any] {
    let response = try await benchClient.execute(HTTPClientRequest(url: url), timeout: .seconds(30))
    let body = try await response.body.collect(upTo: 1 << 22)
    return try JSONSerialization.jsonObject(with: Data(buffer: body)) as? [String: Any] ?? [:]
}

/// Signs in as the admin and opens a USD campaign for a benchmark; returns its id. `userURL` and
/// `campaignURL` are the services' own, or both the gateway's `/api`.
func openCampaign(userURL: String, campaignURL: String, adminEmail: String, adminPassword: String, title: String) async throws -> String {
    let token = try await accessToken(userURL: userURL, email: adminEmail, password: adminPassword)
    let created = try await post(
        campaignURL + "/campaigns",
        body: try JSONSerialization.data(withJSONObject: ["title": title, "goal_amount": 100_000_000, "currency": "USD"]),
        headers: ["Authorization": "Bearer \(token)"], expect: 201
    )
    return (try JSONSerialization.jsonObject(with: Data(created.utf8)) as? [String: Any])?["id"] as? String ?? ""
}

/// Logs in and returns the access token.
func accessToken(userURL: String, email: String, password: String) async throws -> String {
    let login = try await post(userURL + "/users/login", body: try JSONSerialization.data(withJSONObject: ["email": email, "password": password]), expect: 200)
    return (try JSONSerialization.jsonObject(with: Data(login.utf8)) as? [String: Any])?["access_token"] as? String ?? ""
}

/// A figure for `scripts/bench` to collect: `result <key> <value>` on a line of its own.
func result(_ key: String, _ value: Double) {
    say("result \(key) \(value)")
}

/// Open loop: starts `work(n)` at `start + n / rate` for `seconds`, whether or not earlier calls
/// have answered (a stall is then visible, not hidden by a client that waits), and returns each
/// call's latency from its scheduled time in milliseconds, and why the others failed (reason: count).
func openLoop(rate: Double, seconds: Double, _ work: @escaping @Sendable (Int) async throws -> Void) async -> (latencies: [Double], failures: [String: Int]) {
    let count = Int(rate * seconds)
    let start = ContinuousClock.now + .milliseconds(100)
    return await withTaskGroup(of: Result<Double, FailedCall>.self) { group in
        for index in 0..<count {
            let scheduled = start + .seconds(Double(index) / rate)
            try? await Task.sleep(until: scheduled, clock: .continuous)
            group.addTask {
                do {
                    try await work(index)
                    let elapsed = ContinuousClock.now - scheduled
                    return .success(Double(elapsed.components.seconds) * 1000 + Double(elapsed.components.attoseconds) / 1e15)
                } catch {
                    return .failure(FailedCall(reason: String("\(error)".prefix(120))))
                }
            }
        }
        var latencies: [Double] = []
        var failures: [String: Int] = [:]
        for await outcome in group {
            switch outcome {
            case .success(let latency): latencies.append(latency)
            case .failure(let failed): failures[failed.reason, default: 0] += 1
            }
        }
        return (latencies.sorted(), failures)
    }
}

struct FailedCall: Error {
    let reason: String
}

/// Drives `work`: open loop at `rate` for `seconds` when a rate is given, else closed loop,
/// `count` calls with `concurrency` in flight. Prints what it did under `title` and returns how
/// many calls succeeded and, closed loop, how many a second.
func drive(
    _ title: String, rate: Double?, seconds: Double, count: Int, concurrency: Int, _ work: @escaping @Sendable (Int) async throws -> Void
) async throws -> (done: Int, perSecond: Double?) {
    if let rate {
        let (latencies, failures) = await openLoop(rate: rate, seconds: seconds, work)
        say("\(title), open loop at \(Int(rate))/s for \(Int(seconds)) s: \(latencies.count) done, \(failures.values.reduce(0, +)) failed")
        for (reason, times) in failures.sorted(by: { $0.value > $1.value }).prefix(3) { say("  failed \(times) times: \(reason)") }
        say(String(format: "  answered, from the scheduled time: p50 %.0f ms, p99 %.0f ms", quantile(latencies, 0.5), quantile(latencies, 0.99)))
        return (latencies.count, nil)
    }
    let start = ContinuousClock.now
    let (done, _) = try await inParallel(Array(0..<count), concurrency: concurrency) { index in
        try await work(index)
        return 1
    }
    let elapsed = Benchmarks.seconds(since: start)
    say("\(title), \(done), \(concurrency) at once: " + String(format: "%.0f/s (%.2f s)", Double(done) / elapsed, elapsed))
    return (done, Double(done) / elapsed)
}

/// The `q` quantile (0...1) of sorted values.
func quantile(_ sorted: [Double], _ q: Double) -> Double {
    sorted.isEmpty ? .nan : sorted[min(sorted.count - 1, Int(q * Double(sorted.count)))]
}

/// Seconds since `start`.
func seconds(since start: ContinuousClock.Instant) -> Double {
    let elapsed = ContinuousClock.now - start
    return Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
}

/// Polls the campaign (every 100 ms, 2 minutes at most) until its `field` reaches `target`;
/// returns the last count and the seconds waited.
func waitForCampaign(_ campaignURL: String, _ campaignId: String, toCount target: Int, of field: String) async throws -> (Int, Double) {
    let start = ContinuousClock.now
    var counted = 0
    for _ in 0..<1200 where counted < target {
        counted = (try await getJSON(campaignURL + "/campaigns/\(campaignId)"))[field] as? Int ?? 0
        if counted < target { try await Task.sleep(for: .milliseconds(100)) }
    }
    return (counted, seconds(since: start))
}
