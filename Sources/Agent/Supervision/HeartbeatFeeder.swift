/// The loop both watchdogs share: every `interval`, feed while no critical loop has
/// stalled (`LoopHeartbeats`), and say so once when one stalls and once when all recover.
struct HeartbeatFeeder: Sendable {
    let heartbeats: LoopHeartbeats
    let interval: Duration

    /// Runs until the task is cancelled.
    /// - Parameters:
    ///   - feed: called at each check while every loop makes progress.
    ///   - stalled: called at each check while some loop is stalled, with "name (silent N s)" text.
    ///   - recovered: called once when every loop makes progress again after a stall.
    func run(feed: () -> Void, stalled: (String) -> Void, recovered: () -> Void) async {
        var wasStalled = false
        while !Task.isCancelled {
            let silent = heartbeats.stalled(atSeconds: heartbeats.nowSeconds)
            if silent.isEmpty {
                if wasStalled { recovered() }
                feed()
                wasStalled = false
            } else {
                stalled(silent.map { "\($0.name) (silent \(Int($0.silentSeconds)) s)" }.joined(separator: ", "))
                wasStalled = true
            }
            do { try await heartbeats.clock.sleep(for: interval) } catch { return }
        }
    }
}
