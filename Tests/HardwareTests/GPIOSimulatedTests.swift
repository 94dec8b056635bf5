import Synchronization
import Testing

@testable import Hardware
import Clocks

@Suite("Simulated GPIO chip")
struct GPIOSimulatedTests {
    let time = SimulatedClock(now: .seconds(1))
    var chip: SimulatedGPIOChip {
        SimulatedGPIOChip.standardBoard(clock: time)
    }

    @Test("The standard board has the documented lines")
    func standardBoardLayout() async throws {
        let info = try await chip.info()
        #expect(info.name == "simulated")
        #expect(info.lines.map(\.name) == [
            "LAMP_RELAY", "CABINET_DOOR", "FLASH_MODE", "CONTROLLER_FAULT", "MAINS_PRESENT", "ON_BATTERY", "PHOTOCELL",
        ])
        #expect(info.lines.map(\.offset) == Array(0...6))
        #expect(info.lines[0].direction == .output)
        #expect(info.lines[1...].allSatisfy { $0.direction == .input })
        #expect(info.lines.allSatisfy { !$0.used && $0.consumer == nil })
    }

    @Test("Inputs read their level by name or offset; MAINS_PRESENT starts true")
    func inputValues() async throws {
        let chip = self.chip
        let mains = try await chip.requestInput(.name("MAINS_PRESENT"))
        #expect(try await mains.read())
        let door = try await chip.requestInput(.offset(1))
        #expect(door.description == "simulated:1 (CABINET_DOOR)")
        #expect(try await door.read() == false)
        try chip.setInputLevel(.name("CABINET_DOOR"), high: true)
        #expect(try await door.read())
    }

    @Test("Active-low inverts reads and edges")
    func activeLow() async throws {
        let chip = self.chip
        let door = try await chip.requestEdgeEvents(.name("CABINET_DOOR"), activeLow: true)
        #expect(try await door.read() == true)  // low level, active-low → true
        try chip.setInputLevel(.name("CABINET_DOOR"), high: true)
        #expect(try await door.read() == false)
        let edge = try #require(try await door.waitForEdge(timeout: .zero))
        #expect(edge.edge == .falling)
        #expect(edge.valueAfter == false)
    }

    @Test("Each toggle gives an edge stamped by the injected time source")
    func edgesWithTimestamps() async throws {
        let chip = self.chip
        let photocell = try await chip.requestEdgeEvents(.name("PHOTOCELL"))
        try chip.toggle(.name("PHOTOCELL"))
        time.advance(by: .milliseconds(250))
        try chip.toggle(.name("PHOTOCELL"))
        try chip.setInputLevel(.name("PHOTOCELL"), high: false)  // no change, no edge
        let first = try #require(try await photocell.waitForEdge(timeout: .seconds(1)))
        let second = try #require(try await photocell.waitForEdge(timeout: .seconds(1)))
        #expect(first == EdgeEvent(edge: .rising, monotonicNanoseconds: 1_000_000_000))
        #expect(second == EdgeEvent(edge: .falling, monotonicNanoseconds: 1_250_000_000))
        // No third edge: the wait ends when the chip's clock passes its timeout.
        let third = Task { try await photocell.waitForEdge(timeout: .milliseconds(20)) }
        try await time.waitForSleepers()
        time.advance(by: .milliseconds(20))
        #expect(try await third.value == nil)
    }

    @Test("A waiting reader wakes on the next toggle")
    func waiterWakes() async throws {
        let chip = self.chip
        let fault = try await chip.requestEdgeEvents(.name("CONTROLLER_FAULT"))
        async let edge = fault.waitForEdge(timeout: .seconds(10))
        try await time.waitForSleepers()  // the reader waits
        try chip.toggle(.name("CONTROLLER_FAULT"))
        #expect(try await edge?.edge == .rising)
    }

    @Test("Cancelling a wait ends it at once")
    func cancelledWait() async throws {
        let chip = self.chip
        let flash = try await chip.requestEdgeEvents(.name("FLASH_MODE"))
        let task = Task { try await flash.waitForEdge(timeout: .seconds(30)) }
        try await time.waitForSleepers()
        task.cancel()
        await #expect(throws: CancellationError.self) { try await task.value }
    }

    @Test("Outputs record every write with value, level and time")
    func outputHistory() async throws {
        let chip = self.chip
        let relay = try await chip.requestOutput(.name("LAMP_RELAY"), initialValue: false, activeLow: true)
        time.advance(by: .nanoseconds(5))
        try await relay.write(true)
        #expect(try await relay.read())
        #expect(try chip.level(.name("LAMP_RELAY")) == false)
        let history = try chip.outputHistory(.offset(0))
        #expect(history.map(\.value) == [false, true])
        #expect(history.map(\.high) == [true, false])
        #expect(history.map(\.monotonicNanoseconds) == [1_000_000_000, 1_000_000_005])
    }

    @Test("A held line is busy and names its consumer; releasing frees it")
    func busyAndRelease() async throws {
        let chip = self.chip
        var relay: SimulatedOutputLine? = try await chip.requestOutput(
            .name("LAMP_RELAY"), initialValue: true, activeLow: false, bias: .asIs, consumer: "lampd")
        let info = try await chip.lineInfo(.name("LAMP_RELAY"))
        #expect(info.used && info.consumer == "lampd" && info.direction == .output)
        let error = await #expect(throws: GPIOError.self) {
            _ = try await chip.requestInput(.offset(0), activeLow: false, bias: .asIs, consumer: "lampctl")
        }
        #expect(error == .lineBusy(chip: "simulated", line: "simulated:0 (LAMP_RELAY)", consumer: "lampd"))
        #expect(error?.description.contains("held by 'lampd'") == true)
        _ = relay
        relay = nil
        _ = try await chip.requestInput(.offset(0))
    }

    @Test("Unknown names and offsets give the real chip's errors")
    func badLines() async throws {
        let chip = self.chip
        let name = await #expect(throws: GPIOError.self) { _ = try await chip.requestInput(.name("DOOR")) }
        #expect(name?.code == "gpio.line-name-not-found")
        #expect(name?.description.contains("CABINET_DOOR") == true)
        let offset = await #expect(throws: GPIOError.self) { _ = try await chip.requestInput(.offset(7)) }
        #expect(offset == .offsetOutOfRange(chip: "simulated", offset: 7, lineCount: 7))
        #expect(offset?.description.contains("offsets 0–6") == true)
    }
}
