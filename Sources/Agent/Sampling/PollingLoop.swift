import Hardware
import Clocks

/// The loop of a fixed-rate poller (a Modbus device, the cabinet's contact
/// module): polls every `interval` on `clock` until the task is cancelled, and
/// beats under `loopName` after each poll. A poll that overran its interval
/// (timeouts) moves the schedule on instead of bursting to catch up.
///
/// `interval` is asked after each poll, so a period the city changes
/// (`RemoteSettings`) counts from the next wait; the loop's allowed silence
/// (`maximumSilenceSeconds` of the interval) is registered again with it, so a
/// longer period never looks like a stalled loop to the watchdog.
enum PollingLoop {
    static func run(
        _ loopName: String, every interval: () -> Duration, maximumSilenceSeconds: (Duration) -> Double,
        clock: any MonotonicClock, heartbeats: LoopHeartbeats?, poll: (_ atSeconds: Double) async -> Void
    ) async {
        var next = clock.now
        var current = interval()
        heartbeats?.register(loopName, maximumSilenceSeconds: maximumSilenceSeconds(current), atSeconds: clock.now.seconds)
        defer { heartbeats?.unregister(loopName) }
        while !Task.isCancelled {
            await poll(clock.now.seconds)
            let asked = interval()
            if asked != current {
                current = asked
                heartbeats?.register(loopName, maximumSilenceSeconds: maximumSilenceSeconds(current), atSeconds: clock.now.seconds)
            }
            heartbeats?.beat(loopName, atSeconds: clock.now.seconds)
            next = next.advanced(by: current)
            let now = clock.now
            if next < now { next = now }  // fell behind (long timeouts): don't burst
            do { try await clock.sleep(until: next, tolerance: nil) } catch { return }  // shutting down
        }
    }
}
