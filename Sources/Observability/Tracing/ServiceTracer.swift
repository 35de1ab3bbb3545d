import Instrumentation
import Tracing

/// The tracer of the service whose code is running, or none (tracing off).
///
/// Each service runs under its own, so that in dev mode, where every service shares one process
/// and one exporter, each span still names its service (`careforall.service` = the role). The
/// tracer is a task-local set around the service's `run()` (see `TracedService`): everything the
/// service does, its request handlers, relays and background loops, inherits it. With no tracer,
/// `Trace.span` runs its body directly, so tracing off costs one task-local read per would-be span.
public struct ServiceTracer: Sendable {
    @TaskLocal public static var current: ServiceTracer?

    /// The role, recorded on every span as `careforall.service`.
    public let service: String
    let tracer: any Tracer

    public init(service: String, tracer: any Tracer) {
        self.service = service
        self.tracer = tracer
    }

    /// The context of a W3C `traceparent` header, as a parent or link target.
    public func context(fromTraceParent header: String) -> InstrumentationContext? {
        var context = InstrumentationContext.topLevel
        tracer.extract(["traceparent": header], into: &context, using: DictionaryCarrier())
        return traceParent(of: context) == nil ? nil : context
    }

    /// The `traceparent` header naming the span `context` carries.
    func traceParent(of context: InstrumentationContext) -> String? {
        var carrier: [String: String] = [:]
        tracer.inject(context, into: &carrier, using: DictionaryCarrier())
        return carrier["traceparent"]
    }
}

/// Headers as a plain dictionary, for reading and writing `traceparent`.
struct DictionaryCarrier: Extractor, Injector {
    func extract(key: String, from carrier: [String: String]) -> String? { carrier[key] }
    func inject(_ value: String, forKey key: String, into carrier: inout [String: String]) { carrier[key] = value }
}

extension InstrumentationContext {
    /// The `traceparent` of the innermost span this context belongs to: what log lines and
    /// outbox rows written under it record, and what calls made under it send.
    public var traceParent: String? {
        get { self[TraceParentKey.self] }
        set { self[TraceParentKey.self] = newValue }
    }
}

private enum TraceParentKey: InstrumentationContextKey {
    typealias Value = String
    static let nameOverride: String? = "careforall-traceparent"
}
