import Instrumentation
import Tracing

/// Spans, the one way CareForAll code makes them.
///
///     try await Trace.span("outbox.deliver", kind: .producer) { span in
///         span.set("messaging.batch.message_count", batch.count)
///         ...
///     }
///
/// The span is a child of the current one (the task's `InstrumentationContext`), or of `parent` (a
/// stored `traceparent`) when given; `links` name other traces the work belongs to. Inside the
/// body the span is current: log lines carry its ids, and spans started there are its children.
/// An error thrown out of the body is recorded on the span and marks it failed.
public enum Trace {
    public static func span<T>(
        _ name: String, kind: SpanRole = .internal, parent: String? = nil, links: [String] = [],
        isolation: isolated (any Actor)? = #isolation,
        _ body: (SpanHandle) async throws -> T
    ) async rethrows -> T {
        guard let tracer = ServiceTracer.current else {
            return try await body(SpanHandle(span: nil))
        }
        var parentContext = InstrumentationContext.current ?? .topLevel
        if let parent, let context = tracer.context(fromTraceParent: parent) {
            parentContext = context
        }
        let span = tracer.tracer.startSpan(name, context: parentContext, ofKind: kind.spanKind, at: DefaultTracerClock.now, function: #function, file: #fileID, line: #line)
        for link in links {
            if let context = tracer.context(fromTraceParent: link) { span.addLink(SpanLink(context: context, attributes: [:])) }
        }
        span.attributes["careforall.service"] = tracer.service
        var context = span.context
        context.traceParent = tracer.traceParent(of: context)
        defer { span.end() }
        do {
            return try await InstrumentationContext.$current.withValue(context) {
                try await body(SpanHandle(span: span, traceParent: context.traceParent))
            }
        } catch {
            span.recordError(error)
            span.setStatus(SpanStatus(code: .error))
            throw error
        }
    }

    /// The `traceparent` of the current span, if tracing is on and a span is open.
    public static var currentTraceParent: String? {
        InstrumentationContext.current?.traceParent
    }
}

/// What a span is to its service, as OpenTelemetry's span kinds say it.
public enum SpanRole: Sendable {
    /// Answering a request.
    case server
    /// Calling another service or the payment provider.
    case client
    /// Sending events for others to handle later (an outbox delivery).
    case producer
    /// Handling an event another service sent.
    case consumer
    /// Work inside the service.
    case `internal`

    var spanKind: SpanKind {
        switch self {
        case .server: .server
        case .client: .client
        case .producer: .producer
        case .consumer: .consumer
        case .internal: .internal
        }
    }
}

/// The span a body runs in; every call is a no-op when tracing is off.
public struct SpanHandle: Sendable {
    let span: (any Span)?
    /// The span's own `traceparent`, to send on or store; nil when tracing is off.
    public let traceParent: String?

    init(span: (any Span)?, traceParent: String? = nil) {
        self.span = span
        self.traceParent = traceParent
    }

    public var isRecording: Bool { span?.isRecording ?? false }

    public func set(_ key: String, _ value: String) { span?.attributes[key] = value }
    public func set(_ key: String, _ value: Int) { span?.attributes[key] = value }
    public func set(_ key: String, _ value: Bool) { span?.attributes[key] = value }

    /// Renames the span once what it did is known (a server span, after routing).
    public func rename(_ name: String) { span?.operationName = name }

    /// Marks the span failed without an error thrown through it (a 5xx answer).
    public func fail(_ message: String) { span?.setStatus(SpanStatus(code: .error, message: message)) }
}
