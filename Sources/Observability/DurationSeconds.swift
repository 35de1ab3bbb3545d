extension Duration {
    /// The duration in seconds, fractions included: for metrics, logs, backoffs and limits.
    public var inSeconds: Double {
        Double(components.seconds) + Double(components.attoseconds) / 1e18
    }
}
