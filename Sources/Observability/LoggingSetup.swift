import Logging

/// Installs the process-wide log handler once, from `LOG_FORMAT` and `LOG_LEVEL`.
public enum LoggingSetup {
    public static func bootstrap(format: String, level: String) {
        let logLevel = Logger.Level(rawValue: level.lowercased()) ?? .info
        LoggingSystem.bootstrap { label in
            if format == "text" {
                var handler = StreamLogHandler.standardOutput(label: label)
                handler.logLevel = logLevel
                return handler
            }
            return JSONLogHandler(label: label, level: logLevel)
        }
    }

    /// A service's logger: the label names the service, which JSON lines carry as `service`.
    public static func logger(service: String, level: String = "info") -> Logger {
        var logger = Logger(label: "careforall.\(service)")
        logger.logLevel = Logger.Level(rawValue: level.lowercased()) ?? .info
        return logger
    }
}
