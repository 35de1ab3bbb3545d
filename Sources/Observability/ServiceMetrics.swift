import CoreMetrics
import Prometheus

/// One service's metrics: its own Prometheus registry, so that several services in one process
/// (dev mode, tests) each expose only their own figures at `/metrics`.
public struct ServiceMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    public let factory: PrometheusMetricsFactory

    public init() {
        let registry = PrometheusCollectorRegistry()
        var factory = PrometheusMetricsFactory(registry: registry)
        factory.defaultDurationHistogramBuckets = [
            .milliseconds(1), .milliseconds(2.5), .milliseconds(5), .milliseconds(10), .milliseconds(25),
            .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
            .milliseconds(2500), .seconds(5), .seconds(10),
        ]
        self.registry = registry
        self.factory = factory
    }

    public func counter(_ name: String, _ dimensions: [(String, String)] = []) -> CoreMetrics.Counter {
        Counter(label: name, dimensions: dimensions, factory: factory)
    }

    public func timer(_ name: String, _ dimensions: [(String, String)] = []) -> CoreMetrics.Timer {
        Timer(label: name, dimensions: dimensions, factory: factory)
    }

    public func gauge(_ name: String, _ dimensions: [(String, String)] = []) -> CoreMetrics.Gauge {
        Gauge(label: name, dimensions: dimensions, factory: factory)
    }

    /// The Prometheus text exposition of everything recorded so far.
    public func render() -> String {
        registry.emitToString()
    }
}
