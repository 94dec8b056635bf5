import ControlProtocol
import FoundationEssentials
import Lighting
import Logging
import Telemetry
import TextFormatting
import Clocks

extension LightingService {
    /// Each lamp test step's override outlives its step by this much, so steps never leave a gap.
    static let lampTestStepOverrideMarginSeconds = 5.0

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
            expiry: timeSource.now().date.addingTimeInterval(test.stepSeconds + Self.lampTestStepOverrideMarginSeconds),
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
