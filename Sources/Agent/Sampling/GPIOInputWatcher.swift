import LampdConfig
import Hardware
import Logging
import Sampling
import Telemetry
import Clocks

/// Watches one digital input (a cabinet contact, a photocell): waits for
/// its edges, debounces them, and records each accepted change as a reading
/// and, if configured, an event. The level is also re-read every
/// `resyncInterval`, so a change whose edge was lost still counts.
///
/// A line without an interrupt (the kernel refuses edge events: `GPIOError.edgesNotSupported`)
/// is read every `poll_interval` instead and debounced the same way; that is logged once and
/// recorded once as a `gpio.input-polled` info event (shown by `lampctl status` and `selftest`).
public struct GPIOInputWatcher: Sendable {
    public let input: GPIOInputConfiguration
    let channel: ChannelName
    private let sink: any TelemetrySink
    private let timeSource: any TimeSource
    /// What debounce, resync, retries and heartbeats run on: CLOCK_MONOTONIC, the clock the
    /// kernel stamps edges with (the controller's clock for a simulated chip).
    private let clock: any MonotonicClock
    private let heartbeats: LoopHeartbeats?
    private let logger: Logger
    /// How often the line's level is read even without edges.
    public var resyncInterval: Duration = .seconds(60)

    public init(
        input: GPIOInputConfiguration, sink: any TelemetrySink, timeSource: any TimeSource,
        clock: any MonotonicClock = SystemMonotonicClock(), heartbeats: LoopHeartbeats? = nil, logger: Logger
    ) throws(TelemetryError) {
        self.input = input
        self.channel = try ChannelName(input.channel)
        self.sink = sink
        self.timeSource = timeSource
        self.clock = clock
        self.heartbeats = heartbeats
        self.logger = logger
    }

    public var loopName: String { "sampling.gpio.\(input.channel)" }

    /// The info event recorded once when the input's line has no interrupt and is polled.
    public static let polledEventKind = "gpio.input-polled"

    /// Requests the line from `controller` and watches it until the task is
    /// cancelled. If the line cannot be requested (busy, missing, no
    /// permission), that is recorded as an alarm and retried every minute.
    public func run<Controller: GPIOController>(on controller: Controller) async {
        await run(opening: { controller })
    }

    /// Like `run(on:)`, opening the chip with `open` (again after a failure),
    /// so a chip that is missing at start-up is an alarm, not a dead daemon.
    public func run<Controller: GPIOController>(opening open: () async throws -> Controller) async {
        heartbeats?.register(loopName, maximumSilenceSeconds: 120, atSeconds: clock.now.seconds)
        defer { heartbeats?.unregister(loopName) }
        var reportedFailure = false
        var reportedPolling = false
        while !Task.isCancelled {
            do {
                let controller = try await open()
                let watched = try await controller.requestEdgesOrPolling(
                    GPIOLineSelector(input.line), activeLow: input.activeLow, bias: LineBias(input.bias),
                    consumer: GPIOConsumer.daemon, pollInterval: input.pollInterval, clock: clock)
                let line = watched.source
                if reportedFailure {
                    record(event: "gpio.input-back", .info, "input \(input.channel) on \(line.description) can be read again")
                }
                reportedFailure = false
                if watched.polledBecause != nil, !reportedPolling {
                    reportedPolling = true
                    let every = "\(input.pollInterval.milliseconds) ms"
                    let message = "input \(input.channel) on \(line.description): \(GPIOError.noInterruptText), polling instead (every \(every))"
                    record(event: Self.polledEventKind, .info, message)
                    logger.notice("GPIO input polled: \(GPIOError.noInterruptText), polling instead",
                                  metadata: ["channel": "\(input.channel)", "line": "\(line.description)", "every": "\(every)"])
                }
                try await watch(line)
            } catch is CancellationError {
                return
            } catch {
                let message = (error as? any HardwareError)?.description ?? "\(error)"
                if !reportedFailure {
                    record(event: "gpio.input-failed", .alarm, "input \(input.channel) cannot be read: \(message)")
                    logger.error("GPIO input failed", metadata: ["channel": "\(input.channel)", "error": "\(message)"])
                    reportedFailure = true
                }
                heartbeats?.beat(loopName, atSeconds: clock.now.seconds)
                try? await clock.sleep(for: .seconds(60))
            }
        }
    }

    func watch(_ line: some EdgeEventSource & DigitalInput) async throws {
        let monotonicNanoseconds = { clock.now.nanoseconds }
        let initial = try await line.read()
        recordReading(initial)
        var debouncer = ContactDebouncer(initialState: initial, debounceNanoseconds: UInt64(clamping: input.debounce.nanoseconds))
        var lastResync = monotonicNanoseconds()
        let resyncNanoseconds = UInt64(clamping: resyncInterval.nanoseconds)
        while !Task.isCancelled {
            heartbeats?.beat(loopName, atSeconds: clock.now.seconds)
            // Wait for an edge, but no longer than a pending debounce deadline
            // or the next resync.
            let now = monotonicNanoseconds()
            var waitNanoseconds = (lastResync &+ resyncNanoseconds) &- min(now, lastResync &+ resyncNanoseconds)
            if let deadline = debouncer.deadlineNanoseconds {
                waitNanoseconds = min(waitNanoseconds, deadline > now ? deadline - now : 0)
            }
            let waitFor = Duration.nanoseconds(Int64(clamping: max(1_000_000, min(waitNanoseconds, 10_000_000_000))))
            if let edge = try await line.waitForEdge(timeout: waitFor) {
                if let accepted = debouncer.observe(edge.valueAfter, atNanoseconds: edge.monotonicNanoseconds) {
                    changed(to: accepted)
                }
            } else if let accepted = debouncer.settle(atNanoseconds: monotonicNanoseconds()) {
                // Settle only when no edge is waiting: a bounce that is
                // already queued must cancel the candidate first, however
                // late this task got to run.
                changed(to: accepted)
            }
            let after = monotonicNanoseconds()
            if after &- lastResync >= resyncNanoseconds {
                lastResync = after
                let level = try await line.read()
                if let accepted = debouncer.observe(level, atNanoseconds: after) { changed(to: accepted) }
            }
        }
        throw CancellationError()
    }

    private func changed(to value: Bool) {
        recordReading(value)
        guard input.changesAreEvents else { return }
        let spec = value ? input.trueEvent : input.falseEvent
        record(event: spec.kind, spec.severity, value ? input.trueText : input.falseText, value: value)
        logger.notice("input changed", metadata: ["channel": "\(input.channel)", "value": "\(value)"])
    }

    private func recordReading(_ value: Bool) {
        sink.record(Reading(channel: channel, value: .boolean(value), time: timeSource.now()))
    }

    private func record(event kind: String, _ severity: EventSeverity, _ message: String, value: Bool? = nil) {
        sink.record(Event(kind: kind, severity: severity, channel: channel, value: value.map { .boolean($0) }, time: timeSource.now(), message: message))
    }
}
