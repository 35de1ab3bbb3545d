import Foundation
import FuzzTargets
import Testing

/// The fuzz targets' seeds and every finding `scripts/fuzz` kept (`Tests/Fuzz/regressions/<target>/`)
/// replayed on every test run, and a short mutation run from a fixed seed: a parser that once
/// crashed or broke an invariant on an input never does again unnoticed.
@Suite("Fuzzing: seeds, kept findings, and a short seeded mutation run")
struct FuzzRegressionTests {
    static let fuzzFolder = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Fuzz")

    static func inputs(_ target: FuzzTarget, in folder: String) throws -> [(String, [UInt8])] {
        let directory = fuzzFolder.appendingPathComponent(folder).appendingPathComponent(target.rawValue)
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: directory.path) else { return [] }
        return try names.sorted().filter { !$0.hasPrefix(".") }.map { name in
            (name, try [UInt8](Data(contentsOf: directory.appendingPathComponent(name))))
        }
    }

    @Test("every seed and every kept finding passes its target's checks", arguments: FuzzTarget.allCases)
    func replay(target: FuzzTarget) async throws {
        let seeds = try Self.inputs(target, in: "seeds")
        #expect(!seeds.isEmpty, "no seeds for \(target.rawValue)")
        for (name, input) in try seeds + Self.inputs(target, in: "regressions") {
            do {
                try await target.check(input)
            } catch {
                Issue.record("\(target.rawValue)/\(name): \(error)")
            }
        }
    }

    @Test("a few thousand mutations of the seeds, from a fixed seed, break no invariant", arguments: FuzzTarget.allCases)
    func mutations(target: FuzzTarget) async throws {
        var generator = SplitMix64(seed: 0x5EED_F022)
        let seeds = try Self.inputs(target, in: "seeds").map(\.1)
        let rounds = target == .jwt ? 300 : 3000
        for _ in 0..<rounds {
            var input = seeds[Int(generator.next() % UInt64(seeds.count))]
            for _ in 0...(generator.next() % 4) { Mutation.apply(&input, using: &generator) }
            do {
                try await target.check(input)
            } catch {
                Issue.record("\(target.rawValue): \(error) on \(String(decoding: input, as: UTF8.self).prefix(300))")
                return
            }
        }
    }
}

/// Byte-level mutations like a fuzzer's: flip, insert, delete, duplicate a slice, splice in a
/// token that parsers treat specially.
enum Mutation {
    static let tokens: [[UInt8]] = ["%", "%2e", "%2F", "..", "/", ";", "#", "?", "\\", "=", ",", "t=", "v2=", "\"", "{", "}", "[", "]", ":",
                                    "null", "-1", "99999999999999999999", "\u{0}", "\u{FEFF}", "é", ".", "eyJ", "=="].map { Array($0.utf8) }

    static func apply(_ input: inout [UInt8], using generator: inout SplitMix64) {
        func position(_ extra: Int = 0) -> Int { Int(generator.next() % UInt64(input.count + extra)) }
        switch generator.next() % 5 {
        case 0 where !input.isEmpty: input[position()] ^= UInt8(1 << (generator.next() % 8))
        case 1: input.insert(UInt8(truncatingIfNeeded: generator.next()), at: position(1))
        case 2 where !input.isEmpty: input.remove(at: position())
        case 3 where !input.isEmpty:
            let start = position()
            let end = min(input.count, start + Int(generator.next() % 16))
            input.insert(contentsOf: input[start..<end], at: position(1))
        default: input.insert(contentsOf: tokens[Int(generator.next() % UInt64(tokens.count))], at: position(1))
        }
    }
}

/// A small seeded generator: the same mutations on every run and machine.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
