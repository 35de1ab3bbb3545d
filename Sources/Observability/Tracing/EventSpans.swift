import Instrumentation
import Tracing

/// An event as its consumer traces it: its id, type and the `traceparent` it was written under.
public struct TracedEvent: Sendable {
    public let id: String
    public let type: String
    public let traceParent: String?

    public init(id: String, type: String, traceParent: String?) {
        self.id = id
        self.type = type
        self.traceParent = traceParent
    }
}

extension Trace {
    /// Handling a batch of events that may belong to many traces: a `batch` span (a consumer
    /// span, child of the request's) linking to every event's trace, and, for as long as `body`
    /// runs, one `<each> <TYPE>` span per event, each a child of that event's own trace (of the
    /// batch span when the event names none) and linked back to the batch. So a donation's trace
    /// shows its events' handling, however the outbox batched them.
    ///
    /// `body` gets each event's `traceparent` to record on what it writes for that event: its
    /// span's when tracing is on, the event's own when off. `outcomes` names what became of each
    /// event (by id), recorded on its span.
    public static func consume<T>(
        batch: String, each: String, events: [TracedEvent],
        isolation: isolated (any Actor)? = #isolation,
        _ body: ([String?]) async throws -> T, outcomes: (T) -> [String: String]
    ) async rethrows -> T {
        guard let tracer = ServiceTracer.current else {
            return try await body(events.map(\.traceParent))
        }
        // OpenTelemetry's default limit of links on a span.
        let links = Array(Set(events.compactMap(\.traceParent)).prefix(128))
        return try await span(batch, kind: .consumer, links: links) { batchSpan in
            batchSpan.set("messaging.batch.message_count", events.count)
            let batchContext = InstrumentationContext.current ?? .topLevel
            let spans = events.map { event -> any Span in
                let parent = event.traceParent.flatMap(tracer.context(fromTraceParent:)) ?? batchContext
                let span = tracer.tracer.startSpan(
                    "\(each) \(event.type)", context: parent, ofKind: .consumer, at: DefaultTracerClock.now, function: #function, file: #fileID, line: #line
                )
                span.attributes["careforall.service"] = tracer.service
                span.attributes["event_id"] = event.id
                span.addLink(SpanLink(context: batchContext, attributes: [:]))
                return span
            }
            do {
                let result = try await body(spans.map { tracer.traceParent(of: $0.context) })
                let outcome = outcomes(result)
                for (event, span) in zip(events, spans) {
                    if let result = outcome[event.id] { span.attributes["careforall.outcome"] = result }
                    span.end()
                }
                return result
            } catch {
                for span in spans {
                    span.recordError(error)
                    span.setStatus(SpanStatus(code: .error))
                    span.end()
                }
                throw error
            }
        }
    }
}
