import Hardware
import Clocks

/// The loop of a fixed-rate poller (a Modbus device, the cabinet's contact
/// module): polls every `interval` on `clock` until the task is cancelled, and
/// beats under `loopName` after each poll. A poll that overran its interval
/// (timeouts) moves the schedule on instead of bursting to catch up.
enum PollingLoop {
    static func run(
        _ loopName: String, every interval: Duration, maximumSilenceSeconds: Double,
        clock: any MonotonicClock, heartbeats: LoopHeartbeats?, poll: (_ atSeconds: Double) async -> Void
    ) async {
        var next = clock.now
        heartbeats?.register(loopName, maximumSilenceSeconds: maximumSilenceSeconds, atSeconds: clock.now.seconds)
        defer { heartbeats?.unregister(loopName) }
        while !Task.isCancelled {
            await poll(clock.now.seconds)
            heartbeats?.beat(loopName, atSeconds: clock.now.seconds)
            next = next.advanced(by: interval)
            let now = clock.now
            if next < now { next = now }  // fell behind (long timeouts): don't burst
            do { try await clock.sleep(until: next, tolerance: nil) } catch { return }  // shutting down
        }
    }
}
