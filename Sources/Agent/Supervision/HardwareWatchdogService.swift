import ControlProtocol
import SystemSupport
import LampdConfig
import FoundationEssentials
import Hardware
import Logging
import ServiceLifecycle
import Synchronization
import Telemetry
import Clocks

/// Feeds the board's hardware watchdog (`[watchdog]`, watchdog(4)) while every critical
/// loop makes progress (`LoopHeartbeats`, like `WatchdogService` for systemd): if lampd or
/// the whole system hangs, the board resets after the timeout. On a clean shutdown it
/// disarms the device (magic close `V`), so stopping lampd does not reset the board.
///
/// If the device cannot be opened lampd keeps running (light first): it logs the reason,
/// records a `watchdog.unavailable` alarm, and `lampctl selftest` fails `watchdog.hardware`.
public struct HardwareWatchdogService: Service {
    /// How the device is opened: `WatchdogDevice.open` on a board, a fake in tests.
    public typealias Opener = @Sendable (_ path: String, _ timeoutSeconds: Int) throws -> WatchdogDevice

    let configuration: WatchdogConfiguration
    let heartbeats: LoopHeartbeats
    let interval: Duration
    let open: Opener
    /// What `lampctl selftest` reads.
    public let status: HardwareWatchdogStatus
    let sink: (any TelemetrySink)?
    let timeSource: any TimeSource
    let logger: Logger

    /// - Parameter interval: how often to check and feed; a third of the timeout when nil.
    public init(configuration: WatchdogConfiguration, heartbeats: LoopHeartbeats, interval: Duration? = nil,
                open: @escaping Opener = { path, seconds in try WatchdogDevice.open(path: path, timeoutSeconds: seconds) },
                status: HardwareWatchdogStatus = HardwareWatchdogStatus(), sink: (any TelemetrySink)? = nil,
                timeSource: any TimeSource = SystemTimeSource(), logger: Logger) {
        self.configuration = configuration
        self.heartbeats = heartbeats
        self.interval = interval ?? max(.seconds(1), configuration.timeout / 3)
        self.open = open
        self.status = status
        self.sink = sink
        self.timeSource = timeSource
        self.logger = logger
    }

    public func run() async throws {
        let path = configuration.device
        let device: WatchdogDevice
        do {
            device = try open(path, Int(configuration.timeout.components.seconds))
        } catch {
            let reason = ErrorSummary(error).message
            logger.critical("hardware watchdog unavailable; lampd runs without it", metadata: ["device": "\(path)", "error": "\(reason)"])
            sink?.record(Event(kind: "watchdog.unavailable", severity: .alarm, time: timeSource.now(), message: reason))
            status.update { $0.openError = reason }
            try? await gracefulShutdown()
            return
        }
        let timeout = device.timeoutSeconds.map { "\($0) s" } ?? "the driver's own (it cannot be set)"
        logger.notice("hardware watchdog armed", metadata: ["device": "\(path)", "timeout": "\(timeout)"])
        status.update { $0.armed = true; $0.timeoutSeconds = device.timeoutSeconds }
        let logger = self.logger
        let status = self.status
        await cancelWhenGracefulShutdown {
            await HeartbeatFeeder(heartbeats: heartbeats, interval: interval).run(
                feed: {
                    do {
                        try device.keepAlive()
                        status.update { $0.lastFedSeconds = heartbeats.nowSeconds; $0.feedError = nil; $0.stalled = nil }
                    } catch {
                        let message = "\(error)"
                        logger.error("cannot feed the hardware watchdog", metadata: ["error": "\(message)"])
                        status.update { $0.feedError = message }
                    }
                },
                stalled: { names in
                    logger.critical("loop stalled, not feeding the hardware watchdog: the board resets unless it recovers", metadata: ["stalled": "\(names)"])
                    status.update { $0.stalled = names }
                },
                recovered: { logger.notice("all loops make progress again; feeding the hardware watchdog") })
        }
        do {
            try device.magicClose()
            logger.notice("hardware watchdog disarmed (clean shutdown)", metadata: ["device": "\(path)"])
        } catch {
            logger.error("cannot disarm the hardware watchdog: the board may reset", metadata: ["error": "\(error)"])
        }
        status.update { $0.armed = false }
    }
}

/// The hardware watchdog's state, for `lampctl selftest`; any thread may read it.
public final class HardwareWatchdogStatus: Sendable {
    /// One reading of the state.
    public struct State: Sendable, Hashable {
        public var armed = false
        /// The timeout the driver confirmed, seconds (nil: not settable, or not open).
        public var timeoutSeconds: Int?
        /// `LoopHeartbeats.nowSeconds` at the last successful feed.
        public var lastFedSeconds: Double?
        public var openError: String?
        public var feedError: String?
        /// The stalled loops while feeding is held back.
        public var stalled: String?
    }

    private let state = Mutex(State())

    public init() {}

    public var current: State { state.withLock { $0 } }

    func update(_ change: (inout State) -> Void) { state.withLock { change(&$0) } }

    /// The `watchdog.hardware` check of the self-test for `device`, at `nowSeconds` of the
    /// heartbeats' clock.
    public func check(device: String, atSeconds nowSeconds: Double) -> SelfTestCheck {
        let name = "watchdog.hardware"
        let now = current
        if let error = now.openError { return .fail(name, error) }
        guard now.armed else { return .fail(name, "\(device) is not open (lampd starting or stopping)") }
        if let stalled = now.stalled { return .fail(name, "\(device) not fed: stalled \(stalled)") }
        if let error = now.feedError { return .fail(name, error) }
        let timeout = now.timeoutSeconds.map { "timeout \($0) s" } ?? "driver's timeout"
        let fed = now.lastFedSeconds.map { "fed \(Int(nowSeconds - $0)) s ago" } ?? "not fed yet"
        return .pass(name, "\(device) armed, \(timeout), \(fed)")
    }
}
