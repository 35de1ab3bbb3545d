import Foundation
import Logging
import Observability
import OTel
import PlatformConfig
import ServiceLifecycle

/// The OpenTelemetry exporter of a process, made once: a tracer exporting OTLP over HTTP
/// (protobuf), whose resource's `service.name` is the role's service name (`pledge-service`) in
/// `serve` mode and `careforall` in dev mode, where every role shares the process; each role runs
/// under it as a `ServiceTracer` that puts `careforall.service` = the role on every span. The
/// services that batch and send spans run first in the group: they shut down last, after the
/// spans of a graceful shutdown.
///
/// Configured by the standard variables, which swift-otel reads: `OTEL_EXPORTER_OTLP_ENDPOINT`
/// or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`, `OTEL_EXPORTER_OTLP_PROTOCOL` (only `http/protobuf`
/// is built), `OTEL_SERVICE_NAME`, `OTEL_TRACES_SAMPLER` and `_ARG` (the default is parent-based,
/// always on), `OTEL_BSP_SCHEDULE_DELAY`, `OTEL_RESOURCE_ATTRIBUTES`. Tracing is on only when an
/// endpoint is set; `OTEL_TRACES_EXPORTER=none` or `OTEL_SDK_DISABLED=true` turn it off whatever
/// else is set. Off, no tracer exists and a would-be span costs one task-local read.
public struct TracingBackend: Sendable {
    public let tracers: [ServiceRole: ServiceTracer]
    public let services: [any Service]

    public static let off = TracingBackend(tracers: [:], services: [])

    /// Whether `environment` asks for traces.
    public static func isEnabled(in environment: [String: String]) -> Bool {
        func value(_ key: String) -> String? { environment[key].flatMap { $0.isEmpty ? nil : $0.lowercased() } }
        if value("OTEL_SDK_DISABLED") == "true" || value("OTEL_TRACES_EXPORTER") == "none" { return false }
        return value("OTEL_EXPORTER_OTLP_ENDPOINT") != nil || value("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") != nil
    }

    /// From the process's environment: off unless it asks for traces.
    public static func fromEnvironment(roles: [ServiceRole], logger: Logger) throws -> TracingBackend {
        let environment = ProcessInfo.processInfo.environment
        guard isEnabled(in: environment) else { return .off }
        for key in ["OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"] {
            if let value = environment[key], !value.isEmpty, value != "http/protobuf" {
                throw TracingConfigurationError(message: "\(key)=\(value): only http/protobuf is supported (the gRPC exporter is not built)")
            }
        }
        return try make(roles: roles, endpoint: nil, logger: logger)
    }

    /// The tracer of `roles` (one: `serve`; all: dev mode) exporting to `endpoint` (the OTLP/HTTP
    /// base URL, `/v1/traces` is added), or to what the environment names when nil.
    /// `scheduleDelay` is how long spans wait to be batched (tests shorten it).
    public static func make(roles: [ServiceRole], endpoint: String?, scheduleDelay: Duration? = nil, logger: Logger) throws -> TracingBackend {
        var configuration = OTel.Configuration.default
        if roles.count == 1 {
            configuration.serviceName = roles[0].serviceName
            configuration.resourceAttributes["service.version"] = roles[0].version
        } else {
            configuration.serviceName = "careforall"
            configuration.resourceAttributes["service.version"] = Versions.platform
        }
        configuration.diagnosticLogger = .custom(logger)
        configuration.diagnosticLogLevel = .warning
        configuration.metrics.enabled = false
        configuration.logs.enabled = false
        configuration.traces.exporter = .otlp
        configuration.traces.otlpExporter.protocol = .httpProtobuf
        if let endpoint { configuration.traces.otlpExporter.endpoint = endpoint.hasSuffix("/v1/traces") ? endpoint : endpoint + "/v1/traces" }
        // A donation makes about ten spans in each service. The batch processor sends one batch a
        // tick (and an extra one when its queue is full, dropping what arrives meanwhile): batches
        // of 2,048 every 200 ms keep up with thousands of spans a second where the SDK's defaults
        // (512 every 5 s, 2,048 queued) drop most of them. The OTEL_BSP_* variables still override.
        configuration.traces.batchSpanProcessor.scheduleDelay = scheduleDelay ?? .milliseconds(200)
        configuration.traces.batchSpanProcessor.maxQueueSize = 16384
        configuration.traces.batchSpanProcessor.maxExportBatchSize = 2048
        let backend = try OTel.makeTracingBackend(configuration: configuration)
        let tracers = Dictionary(uniqueKeysWithValues: roles.map { ($0, ServiceTracer(service: $0.rawValue, tracer: backend.factory)) })
        return TracingBackend(tracers: tracers, services: [backend.service])
    }

    /// `service` running under `role`'s tracer (as is, when tracing is off).
    public func traced(_ service: any Service, as role: ServiceRole) -> any Service {
        guard let tracer = tracers[role] else { return service }
        return TracedService(service, tracer: tracer)
    }
}

public struct TracingConfigurationError: Error, CustomStringConvertible {
    public let message: String
    public var description: String { message }
}
