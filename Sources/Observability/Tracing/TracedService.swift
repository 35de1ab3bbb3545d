import ServiceLifecycle

/// Runs a service under its tracer: everything the service does inherits `ServiceTracer.current`.
public struct TracedService: Service {
    let base: any Service
    let tracer: ServiceTracer?

    public init(_ base: any Service, tracer: ServiceTracer?) {
        self.base = base
        self.tracer = tracer
    }

    public func run() async throws {
        try await ServiceTracer.$current.withValue(tracer) {
            try await base.run()
        }
    }
}
