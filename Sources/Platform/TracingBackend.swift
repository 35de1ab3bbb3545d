import Foundation
import Logging
import Observability
import OTel
import PlatformConfig
import ServiceLifecycle

/// The OpenTelemetry exporters of a process: one tracer per service it runs, each exporting OTLP
/// over HTTP (protobuf) under the service's own name, and the services that batch and send spans
/// (run them first in the group: they shut down last, after the spans of a graceful shutdown).
///
/// Configured by the standard variables, which swift-otel reads: `OTEL_EXPORTER_OTLP_ENDPOINT`
/// or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `OTEL_EXPORTER_OTLP_PROTOCOL` (only `http/protobuf`
/// is built), `OTEL_SERVICE_NAME`, `OTEL_TRACES_SAMPLER` and `_ARG` (the default is parent-based,
/// always on), `OTEL_BSP_SCHEDULE_DELAY`, `OTEL_RESOURCE_ATTRIBUTES`. Tracing is on only when an
/// endpoint is set (or `OTEL_TRACES_EXPORTER=otlp`), and `OTEL_SDK_DISABLED=true` turns it off
/// whatever else is set: a dev run exports nothing unless asked to.
public struct TracingBackend: Sendable {
    public let tracers: [ServiceRole: ServiceTracer]
    public let services: [any Service]

    public static let off = TracingBackend(tracers: [:], services: [])

    /// Whether `environment` asks for traces.
    public static func isEnabled(in environment: [String: String]) -> Bool {
        if environment["OTEL_SDK_DISABLED"]?.lowercased() == "true" { return false }
        if let exporter = environment["OTEL_TRACES_EXPORTER"]?.lowercased() { return exporter == "otlp" }
        return environment["OTEL_EXPORTER_OTLP_ENDPOINT"] != nil || environment["OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"] != nil
    }

    /// From the process's environment: off unless it asks for traces.
    public static func fromEnvironment(roles: [ServiceRole], logger: Logger) throws -> TracingBackend {
        guard isEnabled(in: ProcessInfo.processInfo.environment) else { return .off }
        return try make(roles: roles, endpoint: nil, logger: logger)
    }

    /// Tracers for `roles` exporting to `endpoint` (the OTLP/HTTP base URL, `/v1/traces` is added),
    /// or to what the environment names when nil. `scheduleDelay` is how long spans wait to be
    /// batched (tests shorten it).
    public static func make(roles: [ServiceRole], endpoint: String?, scheduleDelay: Duration? = nil, logger: Logger) throws -> TracingBackend {
        var tracers: [ServiceRole: ServiceTracer] = [:]
        var services: [any Service] = []
        for role in roles {
            var configuration = OTel.Configuration.default
            configuration.serviceName = role.serviceName
            configuration.resourceAttributes["service.version"] = role.version
            configuration.diagnosticLogger = .custom(logger)
            configuration.diagnosticLogLevel = .warning
            configuration.metrics.enabled = false
            configuration.logs.enabled = false
            configuration.traces.exporter = .otlp
            configuration.traces.otlpExporter.protocol = .httpProtobuf
            if let endpoint { configuration.traces.otlpExporter.endpoint = endpoint.hasSuffix("/v1/traces") ? endpoint : endpoint + "/v1/traces" }
            if let scheduleDelay { configuration.traces.batchSpanProcessor.scheduleDelay = scheduleDelay }
            let backend = try OTel.makeTracingBackend(configuration: configuration)
            tracers[role] = ServiceTracer(service: role.serviceName, tracer: backend.factory)
            services.append(backend.service)
        }
        return TracingBackend(tracers: tracers, services: services)
    }

    /// `service` running under `role`'s tracer (as is, when tracing is off).
    public func traced(_ service: any Service, as role: ServiceRole) -> any Service {
        guard let tracer = tracers[role] else { return service }
        return TracedService(service, tracer: tracer)
    }
}
