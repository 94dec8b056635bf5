import ServiceLifecycle

/// Reports readiness once the service group runs: it is the last service,
/// so when its `run()` starts, every other service has started and the
/// group handles SIGTERM (a stop request before that point would otherwise
/// kill lampd without committing the spool). Then it waits for shutdown.
public struct ReadinessService: Service {
    private let onReady: @Sendable () -> Void

    public init(onReady: @escaping @Sendable () -> Void) {
        self.onReady = onReady
    }

    public func run() async throws {
        onReady()
        try? await gracefulShutdown()
    }
}
