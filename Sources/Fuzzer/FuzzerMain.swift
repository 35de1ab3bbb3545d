import Dispatch
import Foundation
import FuzzTargets

// `scripts/fuzz` builds this with `-sanitize=fuzzer -DFUZZING`: libFuzzer's entry points, the
// target named by `CAREFORALL_FUZZ_TARGET`. Built plainly (every `swift build`), it replays
// inputs: `careforall-fuzz <target> <file>...` checks each file as the fuzzer would.

#if FUZZING
/// The target `CAREFORALL_FUZZ_TARGET` names, read once (a global `let` is initialized once, safely).
let target: FuzzTarget? = ProcessInfo.processInfo.environment["CAREFORALL_FUZZ_TARGET"].flatMap(FuzzTarget.init(rawValue:))

typealias TestOneInput = @convention(c) (UnsafePointer<UInt8>, Int) -> CInt

@_silgen_name("LLVMFuzzerRunDriver")
func runDriver(
    _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>, _ callback: TestOneInput
) -> CInt

/// SwiftPM names an executable's entry point after its module; it hands over to libFuzzer's driver.
@_cdecl("Fuzzer_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var argc = argc
    var argv = argv
    return runDriver(&argc, &argv) { data, size in testOneInput(data, size) }
}

@_cdecl("LLVMFuzzerInitialize")
public func initialize(_ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>>>) -> CInt {
    guard target != nil else {
        FileHandle.standardError.write(Data("set CAREFORALL_FUZZ_TARGET to one of: \(FuzzTarget.allCases.map(\.rawValue))\n".utf8))
        exit(2)
    }
    return 0
}

@_cdecl("LLVMFuzzerTestOneInput")
public func testOneInput(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let input = Array(UnsafeBufferPointer(start: data, count: size))
    let target = target!
    // libFuzzer calls from its own thread, outside Swift's pool: waiting here blocks no task.
    let done = DispatchSemaphore(value: 0)
    Task.detached {
        do {
            try await target.check(input)
        } catch {
            fatalError("\(target.rawValue): \(error)")
        }
        done.signal()
    }
    done.wait()
    return 0
}
#else
@main
struct Replay {
    static func main() async throws {
        let arguments = CommandLine.arguments.dropFirst()
        guard let name = arguments.first, let target = FuzzTarget(rawValue: name) else {
            say("usage: careforall-fuzz <\(FuzzTarget.allCases.map(\.rawValue).joined(separator: "|"))> <file>...")
            exit(2)
        }
        for path in arguments.dropFirst() {
            let input = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            do {
                try await target.check(input)
                say("ok    \(path)")
            } catch {
                say("FAIL  \(path): \(error)")
                exit(1)
            }
        }
    }

    /// A line for the person replaying inputs (this is a command-line tool, not a service: no logger).
    static func say(_ line: String) {
        FileHandle.standardOutput.write(Data((line + "\n").utf8))
    }
}
#endif
