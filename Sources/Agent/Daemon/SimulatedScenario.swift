import Hardware
import Logging
import ServiceLifecycle

/// A scripted day in the life of the simulated board, for demonstrations
/// and manual testing (`lampd --simulate --demo`): the cabinet door opens
/// and closes, mains fails and returns, the meter stops answering and comes
/// back, the lamp's LED module fails and is repaired. Repeats every cycle.
public struct SimulatedScenario: Service {
    /// One step: after `offset` from the cycle's start, do `action`.
    public struct Step: Sendable {
        public var offset: Duration
        public var description: String
        public var action: @Sendable (SimulatedBoard) async throws -> Void
    }

    let board: SimulatedBoard
    let steps: [Step]
    let cycle: Duration
    let logger: Logger

    public init(board: SimulatedBoard, steps: [Step] = SimulatedScenario.demo, cycle: Duration = .seconds(180), logger: Logger) {
        self.board = board
        self.steps = steps.sorted { $0.offset < $1.offset }
        self.cycle = cycle
        self.logger = logger
    }

    public static let demo: [Step] = [
        Step(offset: .seconds(15), description: "cabinet door opened") { try $0.setCabinetDoorOpen(true) },
        Step(offset: .seconds(30), description: "cabinet door closed") { try $0.setCabinetDoorOpen(false) },
        Step(offset: .seconds(45), description: "mains lost") { try $0.setMainsPresent(false) },
        Step(offset: .seconds(60), description: "mains restored") { try $0.setMainsPresent(true) },
        Step(offset: .seconds(75), description: "meter stops answering") { await $0.setMeterAnswering(false) },
        Step(offset: .seconds(120), description: "meter answers again") { await $0.setMeterAnswering(true) },
        Step(offset: .seconds(135), description: "LED module fails") { $0.setLampFault(.ledFailure, active: true) },
        Step(offset: .seconds(165), description: "LED module replaced") { $0.setLampFault(.ledFailure, active: false) },
    ]

    public func run() async throws {
        let clock = ContinuousClock()
        await cancelWhenGracefulShutdown {
            var cycleStart = clock.now
            while !Task.isCancelled {
                for step in steps {
                    do { try await Task.sleep(until: cycleStart + step.offset, clock: clock) } catch { return }
                    logger.notice("scenario: \(step.description)")
                    do {
                        try await step.action(board)
                    } catch {
                        logger.error("scenario step failed", metadata: ["step": "\(step.description)", "error": "\(error)"])
                    }
                }
                cycleStart += cycle
                do { try await Task.sleep(until: cycleStart, clock: clock) } catch { return }
            }
        }
    }
}
