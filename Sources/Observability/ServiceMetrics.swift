import CoreMetrics
import Prometheus

/// One service's metrics: its own Prometheus registry, so that several services in one process
/// (dev mode, tests) each expose only their own figures at `/metrics`. Every metric is one of
/// `Metric`'s, registered with its `# HELP` text.
public struct ServiceMetrics: Sendable {
    public let registry: PrometheusCollectorRegistry
    let factory: CatalogMetricsFactory

    public init() {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        self.factory = CatalogMetricsFactory(registry: registry)
    }

    public func counter(_ metric: Metric, _ dimensions: [(String, String)] = []) -> CoreMetrics.Counter {
        Counter(label: metric.name, dimensions: dimensions, factory: factory)
    }

    public func timer(_ metric: Metric, _ dimensions: [(String, String)] = []) -> CoreMetrics.Timer {
        Timer(label: metric.name, dimensions: dimensions, factory: factory)
    }

    public func gauge(_ metric: Metric, _ dimensions: [(String, String)] = []) -> CoreMetrics.Gauge {
        Gauge(label: metric.name, dimensions: dimensions, factory: factory)
    }

    /// The Prometheus text exposition of everything recorded so far.
    public func render() -> String {
        registry.emitToString()
    }
}

/// Makes swift-metrics handlers in a Prometheus registry with the `# HELP` text of their `Metric`
/// (the registry's own factory registers none). Only `ServiceMetrics` makes metrics through it.
struct CatalogMetricsFactory: MetricsFactory {
    let registry: PrometheusCollectorRegistry

    static let durationBuckets: [Duration] = [
        .milliseconds(1), .milliseconds(2.5), .milliseconds(5), .milliseconds(10), .milliseconds(25),
        .milliseconds(50), .milliseconds(100), .milliseconds(250), .milliseconds(500), .seconds(1),
        .milliseconds(2500), .seconds(5), .seconds(10),
    ]
    static let valueBuckets: [Double] = [1, 5, 10, 50, 100, 500, 1000, 5000, 10000]

    func descriptor(_ label: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: label, unitName: "", helpText: Metric(rawValue: label)?.help ?? label)
    }

    func makeCounter(label: String, dimensions: [(String, String)]) -> any CounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    func makeFloatingPointCounter(label: String, dimensions: [(String, String)]) -> any FloatingPointCounterHandler {
        registry.makeCounter(descriptor: descriptor(label), labels: dimensions)
    }

    func makeRecorder(label: String, dimensions: [(String, String)], aggregate: Bool) -> any RecorderHandler {
        guard aggregate else { return registry.makeGauge(descriptor: descriptor(label), labels: dimensions) }
        return registry.makeValueHistogram(descriptor: descriptor(label), labels: dimensions, buckets: Self.valueBuckets)
    }

    func makeMeter(label: String, dimensions: [(String, String)]) -> any MeterHandler {
        registry.makeGauge(descriptor: descriptor(label), labels: dimensions)
    }

    func makeTimer(label: String, dimensions: [(String, String)]) -> any TimerHandler {
        registry.makeDurationHistogram(descriptor: descriptor(label), labels: dimensions, buckets: Self.durationBuckets)
    }

    // Metrics live as long as their service: nothing is ever unregistered.
    func destroyCounter(_ handler: any CounterHandler) {}
    func destroyFloatingPointCounter(_ handler: any FloatingPointCounterHandler) {}
    func destroyRecorder(_ handler: any RecorderHandler) {}
    func destroyMeter(_ handler: any MeterHandler) {}
    func destroyTimer(_ handler: any TimerHandler) {}
}
