import Agent
import Clocks
import Downlink
import Foundation
import Telemetry
import Uplink
import UplinkHTTP

/// The desired-state pull of the simulated boards (docs/fleet-simulator.md, "Pulling the desired
/// state"): every `everyMinutes` simulated minutes (each board at its own minute of the cycle) a
/// board sends the real `GET /v1/desired-state/{device}` with its applied versions, verifies each
/// document with the real `DesiredStateVerifier` against the pinned city keys, and records the
/// outcome as lampd's `DesiredStateApplier` does (`downlink.applied` / `downlink.refused`, same
/// kind, channel, value and message), to go out in the board's next regular batch.
struct FleetPull: Sendable {
    let verifier: DesiredStateVerifier
    let everyMinutes: Int
    /// `[downlink] max_override_duration` of the simulated boards, in seconds.
    let maximumOverrideSeconds: Int64

    /// Whether board `board` pulls in `minute`: boards are spread over the cycle.
    func isDue(board: Int, minute: Int) -> Bool {
        everyMinutes > 0 && (minute + board) % everyMinutes == 0
    }

    /// The board's clock at `secondsIntoMinute` of simulated `minute`.
    static func time(plan: FleetPlan, minute: Int, secondsIntoMinute: Int64) -> Timestamp {
        Timestamp(utcNanoseconds: plan.startNanoseconds + Int64(minute) * 60_000_000_000 + secondsIntoMinute * 1_000_000_000,
                  bootNanoseconds: Int64(minute) * 60_000_000_000 + secondsIntoMinute * 1_000_000_000,
                  bootID: Timestamp.unknownBootID, isClockSynchronised: true)
    }

    /// One pull of `board` at `now` (its clock): applies what verifies, queues the outcome events.
    func pull(_ board: SimulatedBoard, transport: HTTPBatchTransport, now: Timestamp) async -> (SimulatedBoard, FleetCounts) {
        var board = board
        var counts = FleetCounts()
        counts.pulls += 1
        let applied = Dictionary(uniqueKeysWithValues: board.appliedVersions.map { ($0.key.rawValue, $0.value) })
        let (outcome, _) = await transport.pullDesiredState(deviceID: board.deviceID, applied: applied, waitSeconds: 0)
        guard case .documents(let documents) = outcome else {
            if case .nothingNew = outcome { return (board, counts) }
            counts.pullFailures += 1
            return (board, counts)
        }
        for document in documents where !board.refusedDocuments.contains(document) {
            let state = BoardDownlinkState(deviceID: board.deviceID.rawValue, appliedVersions: board.appliedVersions,
                                           nowSeconds: now.utcNanoseconds / 1_000_000_000, clockSynchronised: true,
                                           maximumOverrideSeconds: maximumOverrideSeconds)
            do throws(DesiredStateRefusal) {
                let verified = try verifier.verify(document, board: state)
                board.appliedVersions[verified.role] = verified.state.version
                board.pendingDownlinkEvents.append(.event(DesiredStateApplier.appliedEvent(verified, via: "pull", time: now)))
                board.carriesApplied = true
                counts.downlinkApplied += 1
            } catch {
                // Like lampd's puller: the same document served again is not refused again.
                if board.refusedDocuments.count >= 16 { board.refusedDocuments.removeAll() }
                board.refusedDocuments.insert(document)
                let claimed = try? verifier.verifyAuthentic(document, deviceID: board.deviceID.rawValue)
                board.pendingDownlinkEvents.append(.event(DesiredStateApplier.refusedEvent(error, claimed: claimed, time: now)))
                counts.downlinkRefused += 1
            }
        }
        return (board, counts)
    }
}
