import Clocks
import Synchronization

/// Progress reports of the agent's critical loops (lighting, sampling,
/// spool, uplink), so the systemd watchdog is fed only while every one of
/// them is making progress: a loop that hangs leads to a restart.
///
/// Each loop calls `beat(_:)` once per iteration. Time is in seconds of `clock`, the one
/// injected `MonotonicClock` the loops run on (`nowSeconds`); the loops pass the seconds they
/// read from it, so the logic is tested without sleeping.
public final class LoopHeartbeats: Sendable {
    private struct Loop {
        var maximumSilenceSeconds: Double
        var lastBeatSeconds: Double
    }

    private let loops = Mutex<[String: Loop]>([:])

    /// The steady clock the loops beat on and the watchdogs check with.
    public let clock: any MonotonicClock

    public init(clock: any MonotonicClock = SystemMonotonicClock()) {
        self.clock = clock
    }

    /// Now, in the seconds the loops beat in.
    public var nowSeconds: Double { clock.now.seconds }

    /// Registers a loop that must beat at least every `maximumSilenceSeconds`.
    /// Registration counts as its first beat.
    public func register(_ name: String, maximumSilenceSeconds: Double, atSeconds now: Double) {
        loops.withLock { $0[name] = Loop(maximumSilenceSeconds: maximumSilenceSeconds, lastBeatSeconds: now) }
    }

    /// Removes a loop that ended on purpose (shutdown).
    public func unregister(_ name: String) {
        _ = loops.withLock { $0.removeValue(forKey: name) }
    }

    /// Records that `name` made progress.
    public func beat(_ name: String, atSeconds now: Double) {
        loops.withLock { $0[name]?.lastBeatSeconds = now }
    }

    /// The loops that have been silent for longer than they may be, with how long, sorted by name.
    public func stalled(atSeconds now: Double) -> [(name: String, silentSeconds: Double)] {
        loops.withLock { loops in
            loops.compactMap { name, loop in
                let silence = now - loop.lastBeatSeconds
                return silence > loop.maximumSilenceSeconds ? (name, silence) : nil
            }
        }.sorted { $0.name < $1.name }
    }
}
