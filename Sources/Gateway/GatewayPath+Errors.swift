import GatewayPaths
import HTTPSupport
import HTTPTypes

extension GatewayPath {
    /// The path of a request, or 400 `invalid_path` when it cannot be read as a plain path.
    static func judging(_ raw: String) throws -> GatewayPath {
        do {
            return try GatewayPath(raw: raw)
        } catch {
            throw APIError(.badRequest, code: "invalid_path", message: "The request path cannot be read as a plain path.")
        }
    }
}
