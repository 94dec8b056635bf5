import FoundationEssentials
import Lighting
import Logging
import Telemetry
import TextFormatting
import Clocks

/// A visible lamp test (`lampctl lamp test`): the lamp steps through `levelsPercent`, each
/// level held `stepSeconds`, then the program decides again.
///
/// Each step is a short technician override (expiring `stepSeconds` + 5 s after it starts),
/// so the arbiter and the fail-safe still apply, `lamp clear` or any other override ends
/// the test, and a lampd that stops mid-test leaves at most a few seconds of override behind.
public struct LampTest: Sendable, Hashable, Codable {
    /// Where the test stands.
    public enum State: String, Sendable, Hashable, Codable {
        case running
        /// All steps shown; the program decides again.
        case finished
        /// Ended early: `lamp clear`, another override, or lampd stopping (see `endReason`).
        case cancelled
    }

    /// The levels in order, percent 0–100.
    public var levelsPercent: [Int]
    /// How long each level is held, seconds.
    public var stepSeconds: Double
    /// 1-based number of the step in force (0 before the first).
    public var step: Int
    public var state: State
    public var startedAt: Date
    /// When the last step ends, if the test runs to its end.
    public var endsAt: Date
    /// The technician who started it, e.g. `alice`.
    public var by: String
    /// Why it ended early (`cancelled`).
    public var endReason: String?

    /// 0 → 25 → 50 → 75 → 100 % and back off.
    public static let defaultLevelsPercent = [0, 25, 50, 75, 100, 0]
    /// Allowed `stepSeconds`: long enough to see from the street, short enough not to bother.
    public static let stepSecondsRange = 1.0...60.0
    public static let defaultStepSeconds = 3.0
    /// Each step's override outlives its step by this much, so steps never leave a gap.
    static let stepOverrideMarginSeconds = 5.0
}

extension LightingService {
    /// Starts a lamp test: shows its first step at once and returns; the other steps
    /// follow in the background.
    ///
    /// - Parameter technician: who asked, as overrides name them (e.g. `alice`).
    /// - Throws: `LightingError` `test-running` while another test runs, `bad-step`
    ///   for a `stepSeconds` outside `LampTest.stepSecondsRange`, or the override's
    ///   own codes when the first step is refused.
    @discardableResult
    public func startLampTest(stepSeconds: Double = LampTest.defaultStepSeconds,
                              levelsPercent: [Int] = LampTest.defaultLevelsPercent,
                              technician: String) async throws(LightingError) -> LampTest {
        guard LampTest.stepSecondsRange.contains(stepSeconds) else {
            throw LightingError(code: "bad-step", String(printf:
                "a lamp test step must last %.0f to %.0f s, not %g s",
                LampTest.stepSecondsRange.lowerBound, LampTest.stepSecondsRange.upperBound, stepSeconds))
        }
        guard !levelsPercent.isEmpty, levelsPercent.allSatisfy({ (0...100).contains($0) }) else {
            throw LightingError(code: "level-out-of-range", "lamp test levels must be 0 to 100 %")
        }
        if let running = lampTest, running.state == .running {
            throw LightingError(code: "test-running", "a lamp test started by \(running.by) is still running (step \(running.step) of \(running.levelsPercent.count)); `lampctl lamp clear` stops it")
        }
        let now = timeSource.now()
        let test = LampTest(
            levelsPercent: levelsPercent, stepSeconds: stepSeconds, step: 0, state: .running, startedAt: now.date,
            endsAt: now.date.addingTimeInterval(stepSeconds * Double(levelsPercent.count)), by: technician)
        lampTest = test
        let steps = levelsPercent.map { "\($0)" }.joined(separator: " → ")
        sink.record(Event(kind: "lamp.test", severity: .info, time: now,
                          message: "lamp test by \(technician): \(steps) %, \(Int(stepSeconds)) s each"))
        logger.notice("lamp test started", metadata: ["by": "\(technician)", "steps": "\(steps)"])
        if let refused = await showLampTestStep(1, of: test) { throw refused }
        lampTestTask = Task { await self.continueLampTest(test) }
        return lampTest ?? test
    }

    /// Applies step `number` (1-based) of `test` as a short override; returns why it was refused.
    private func showLampTestStep(_ number: Int, of test: LampTest) async -> LightingError? {
        lampTest?.step = number
        let request = OverrideRequest(
            levelPercent: test.levelsPercent[number - 1],
            expiry: timeSource.now().date.addingTimeInterval(test.stepSeconds + LampTest.stepOverrideMarginSeconds),
            reason: "lamp test step \(number) of \(test.levelsPercent.count)", source: .technician(test.by))
        do {
            try await applyOverride(request, partOfLampTest: true)
            return nil
        } catch {
            endLampTest(.cancelled, because: "step \(number) refused: \(error.description)")
            return error
        }
    }

    /// Shows the steps after the first in turn, then hands the lamp back to the program.
    private func continueLampTest(_ test: LampTest) async {
        for number in 2...max(2, test.levelsPercent.count + 1) {
            do { try await Task.sleep(for: .seconds(test.stepSeconds)) } catch { return }
            guard lampTest?.state == .running, lampTest?.startedAt == test.startedAt else { return }
            guard number <= test.levelsPercent.count else { break }
            if await showLampTestStep(number, of: test) != nil { return }
        }
        lampTest?.state = .finished
        sink.record(Event(kind: "lamp.test-finished", severity: .info, time: timeSource.now(),
                          message: "lamp test by \(test.by) finished: back to the program"))
        await clearOverride(by: "the lamp test's end")
    }

    /// Ends a running test early (no-op when none runs); the caller re-decides the lamp.
    func endLampTest(_ state: LampTest.State, because reason: String) {
        guard var test = lampTest, test.state == .running else { return }
        test.state = state
        test.endReason = reason
        lampTest = test
        lampTestTask?.cancel()
        lampTestTask = nil
        sink.record(Event(kind: "lamp.test-cancelled", severity: .info, time: timeSource.now(),
                          message: "lamp test by \(test.by) stopped at step \(test.step) of \(test.levelsPercent.count): \(reason)"))
    }
}
