import SystemSupport
import ControlProtocol
import LampdConfig
import FoundationEssentials
import Glibc
import Hardware

/// The self-test's hardware checks when lampd is not running (it normally holds the lines
/// and buses): lampctl claims each configured GPIO input once and asks each Modbus unit
/// for its first register. On the simulated board this probes a fresh simulated board.
struct DirectHardwareProbe {
    let configuration: LampdConfiguration

    func run() async -> [SelfTestCheck] {
        [await gpio()] + (await modbus())
    }

    /// Every configured GPIO input can be requested and read.
    func gpio() async -> SelfTestCheck {
        let inputs = configuration.gpioInputs
        guard !inputs.isEmpty else { return .skip("gpio", "no GPIO inputs configured") }
        var failures: [String] = []
        for input in inputs {
            do {
                let chip = try await openGPIOController(configuration.board.kind == .simulated ? SimulatedGPIOChip.standardBoardName : input.chip)
                let line = try await chip.requestInput(GPIOLineSelector(input.line), activeLow: input.activeLow,
                                                       bias: LineBias(input.bias), consumer: GPIOConsumer.cli)
                _ = try await line.read()
            } catch {
                failures.append("\(input.line) on \(input.chip): \(ErrorSummary(error).message)")
            }
        }
        guard failures.isEmpty else { return .fail("gpio", failures.joined(separator: "; ")) }
        return .pass("gpio", "\(inputs.count) input lines claimed and read by lampctl (lampd not running)")
    }

    /// Every configured Modbus unit answers a read of its first register.
    func modbus() async -> [SelfTestCheck] {
        let simulated = configuration.board.kind == .simulated ? await SimulatedBoard().modbus : nil
        var checks: [SelfTestCheck] = []
        for device in configuration.modbusDevices {
            let name = "modbus.\(device.name)"
            let which = "unit \(device.unit) on bus \(device.bus)"
            guard let register = device.registers.first else {
                checks.append(.skip(name, "\(which) has no registers configured"))
                continue
            }
            do {
                let client: any ModbusClient
                if let simulated {
                    client = simulated
                } else if let section = configuration.modbusBuses.first(where: { $0.name == device.bus }) {
                    client = try await ModbusBus.open(section.bus)
                } else {
                    checks.append(.fail(name, "bus \(device.bus) is not configured"))
                    continue
                }
                switch register.table {
                case .coil: _ = try await client.readCoils(unit: device.unit, address: register.address, count: 1)
                case .discreteInput: _ = try await client.readDiscreteInputs(unit: device.unit, address: register.address, count: 1)
                case .holdingRegister: _ = try await client.readHoldingRegisters(unit: device.unit, address: register.address, count: 1)
                case .inputRegister: _ = try await client.readInputRegisters(unit: device.unit, address: register.address, count: 1)
                }
                checks.append(.pass(name, "\(which) answered lampctl (lampd not running)"))
            } catch {
                let reason = ErrorSummary(error).message
                let verdict = (error as? ModbusError).map { ModbusError.verdict(code: $0.code) } ?? "did not answer"
                checks.append(.fail(name, "\(which) \(verdict): \(reason)"))
            }
        }
        return checks
    }
}
