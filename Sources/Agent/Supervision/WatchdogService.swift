import Hardware
import Logging
import ServiceLifecycle
import Clocks

/// Feeds the systemd watchdog while every critical loop makes progress, and
/// stops feeding it (so systemd restarts lampd) as soon as one stalls.
public struct WatchdogService: Service {
    private let heartbeats: LoopHeartbeats
    private let notifier: SystemdNotifier
    private let interval: Duration
    private let logger: Logger

    /// - Parameter interval: how often to check; half of `WatchdogSec=` is
    ///   systemd's advice. `nil` uses the unit's setting, or 10 s outside systemd.
    public init(heartbeats: LoopHeartbeats, notifier: SystemdNotifier = SystemdNotifier(), interval: Duration? = nil, logger: Logger) {
        self.heartbeats = heartbeats
        self.notifier = notifier
        self.interval = interval ?? notifier.watchdogInterval.map { $0 / 2 } ?? .seconds(10)
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown { await feed() }
    }

    private func feed() async {
        await HeartbeatFeeder(heartbeats: heartbeats, interval: interval).run(
            feed: { notifier.watchdogKeepAlive() },
            stalled: { names in
                logger.critical("loop stalled, not feeding the watchdog: systemd will restart lampd", metadata: ["stalled": "\(names)"])
                notifier.status("stalled: \(names)")
            },
            recovered: { logger.notice("all loops make progress again; feeding the watchdog") })
    }
}
