import HTTPTypes
import Hummingbird
import Observability
import Logging

/// One server span per request, a child of the caller's W3C `traceparent` when it sends one:
/// named `METHOD /route/{template}` once routed, with the route, status and request id. The
/// request's `traceParent` is then the span's own, so calls it makes and events it writes are
/// its children, and its log lines carry `trace_id` and `span_id`.
///
/// With tracing off, the caller's `traceparent` is kept (or a new trace id made) all the same:
/// logs, calls and outbox rows still share one trace id, as before spans existed.
public struct TracingMiddleware: RouterMiddleware {
    public typealias Context = AppRequestContext

    public init() {}

    public func handle(_ request: Request, context: Context, next: (Request, Context) async throws -> Response) async throws -> Response {
        var context = context
        let incoming = request.headers[.traceparent].flatMap { TraceParent.traceID(from: $0) == nil ? nil : $0 }
        guard ServiceTracer.current != nil else {
            let traceID: String
            if let incoming, let id = TraceParent.traceID(from: incoming) {
                (context.traceParent, traceID) = (incoming, id)
            } else {
                (context.traceParent, traceID) = TraceParent.generateWithID()
            }
            context.logger[metadataKey: "trace_id"] = .string(traceID)
            return try await next(request, context)
        }
        return try await Trace.span("\(request.method.rawValue) \(request.uri.path)", kind: .server, parent: incoming) { span in
            span.set("http.request.method", request.method.rawValue)
            span.set("url.path", request.uri.path)
            span.set("request_id", context.requestID)
            if let traceParent = span.traceParent, let traceID = TraceParent.traceID(from: traceParent) {
                context.traceParent = traceParent
                context.logger[metadataKey: "trace_id"] = .string(traceID)
                context.logger[metadataKey: "span_id"] = .string(String(traceParent.dropFirst(36).prefix(16)))
            }
            let endpoint = context.coreContext.endpointPath
            let response = try await next(request, context)
            // The template keeps span names few; unmatched paths share one name.
            let route = endpoint.value.flatMap { $0 == "NotFound" ? nil : $0 } ?? "unmatched"
            span.rename("\(request.method.rawValue) \(route)")
            span.set("http.route", route)
            span.set("http.response.status_code", Int(response.status.code))
            if response.status.code >= 500 { span.fail("HTTP \(response.status.code)") }
            return response
        }
    }
}
