import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

/// A port on 127.0.0.1 for a test server. Taken from 20000-31999, below Linux's ephemeral range
/// (32768-60999), so an outgoing connection (to PostgreSQL, between services) can never be given
/// it as its local port between this check and the server's bind, which a kernel-picked port
/// could be. Never the same port twice in one test process; one that cannot be bound is skipped.
public enum FreePort {
    static let first = 20_000
    static let last = 31_999
    private static let cursor = Mutex(first + Int(getpid()) % (last - first))

    public static func next() throws -> Int {
        for _ in 0...(last - first) {
            let port = cursor.withLock { value -> Int in
                let port = value
                value = value >= last ? first : value + 1
                return port
            }
            if canBind(port) { return port }
        }
        throw FreePortError.exhausted
    }

    static func canBind(_ port: Int) -> Bool {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let bound = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        return bound == 0
    }
}

enum FreePortError: Error {
    case exhausted
}
