import LampdConfig
import Foundation
import Hardware
import TestSupport
import Testing
@testable import Agent

/// `[modbus.traffic_box]`: the cabinet's contacts on a Modbus module (issue 13).
@Suite("Configuration: [modbus.traffic_box]")
struct CabinetModbusConfigurationTests {
    static let head = """
        [board]
        kind = "simulated"
        id = "p"
        [[modbus.buses]]
        name = "rs485"
        rtu = "/dev/ttyS1"

        """

    func parse(_ section: String) throws -> ModbusTrafficBoxConfiguration {
        try #require(try LampdConfiguration.parse(Self.head + section).modbusTrafficBox)
    }

    func problems(_ section: String) -> [ConfigurationError] {
        do {
            _ = try LampdConfiguration.parse(Self.head + section, file: "lampd.toml")
            return []
        } catch {
            return error.errors
        }
    }

    @Test func aDI8ModuleWiresTheFiveContactsToInputs0To4() throws {
        let box = try parse("""
            [modbus.traffic_box]
            bus = "rs485"
            unit = 2
            profile = "di-8"
            """)
        #expect(box.table == .discreteInput)
        #expect(box.address == 0)
        #expect(box.contacts.map(\.contact.channel) == ["cabinet.door", "cabinet.flash-mode", "cabinet.controller-fault", "cabinet.mains", "cabinet.on-battery"])
        #expect(box.contacts.map(\.position) == [0, 1, 2, 3, 4])
        #expect(box.readCount == 5)
        #expect(box.pollInterval == .milliseconds(250))
        #expect(box.debouncePolls == 2)
        #expect(!box.activeLow)
        #expect(box.description == "unit 2 on bus \"rs485\", discrete inputs 0…4")
    }

    @Test func contactsCanBeMovedOrLeftUnwired() throws {
        let box = try parse("""
            [modbus.traffic_box]
            bus = "rs485"
            unit = 3
            profile = "di-8"
            door = 7
            on_battery = false
            active_low = true
            poll = "100ms"
            debounce_polls = 4
            """)
        #expect(box.contacts.map(\.contact.key) == ["door", "flash_mode", "controller_fault", "mains_present"])
        #expect(box.contacts.first?.position == 7)
        #expect(box.readCount == 8)
        #expect(box.activeLow)
        #expect(box.pollInterval == .milliseconds(100))
        #expect(box.debouncePolls == 4)
    }

    @Test func theControllersStatusRegisterGivesOneBitPerContact() throws {
        let box = try parse("""
            [modbus.traffic_box]
            bus = "rs485"
            unit = 9
            table = "holding"
            address = 100
            door = 0
            flash_mode = 3
            controller_fault = 15
            """)
        #expect(box.table == .holdingRegister)
        #expect(box.address == 100)
        #expect(box.readCount == 1)
        #expect(box.contacts.map(\.position) == [0, 3, 15])
        #expect(box.description == "unit 9 on bus \"rs485\", holding register 100")
    }

    @Test func mistakesAreReportedWithTheirLineAndWhatToWrite() {
        let found = problems("""
            [modbus.traffic_box]
            bus = "rs458"
            unit = 250
            table = "input"
            door = 16
            flash_mode = -1
            controller_fault = 3
            mains_present = 3
            on_battery = true
            poll = "5ms"
            debounce_polls = 0
            bit = 2
            """)
        let byKey = Dictionary(found.map { ($0.keyPath, $0) }, uniquingKeysWith: { first, _ in first })
        #expect(byKey["modbus.traffic_box.bus"]?.message.contains("known buses: \"rs485\"") == true)
        #expect(byKey["modbus.traffic_box.unit"]?.message.contains("reserved") == true)
        #expect(byKey["modbus.traffic_box.door"]?.message.contains("bit 16 is outside the status register's bits 0…15") == true)
        #expect(byKey["modbus.traffic_box.door"]?.location.line == 11)
        #expect(byKey["modbus.traffic_box.door"]?.location.column != nil)
        #expect(byKey["modbus.traffic_box.flash_mode"]?.message.contains("bit -1") == true)
        #expect(byKey["modbus.traffic_box.mains_present"]?.message.contains("controller_fault and mains_present are both on bit 3") == true)
        #expect(byKey["modbus.traffic_box.on_battery"]?.message.contains("`false` when it is not wired") == true)
        #expect(byKey["modbus.traffic_box.poll"]?.message.contains("out of range") == true)
        #expect(byKey["modbus.traffic_box.debounce_polls"]?.message.contains("out of range") == true)
        #expect(byKey["modbus.traffic_box.bit"]?.message.contains("unknown key") == true)
        #expect(found.allSatisfy { $0.location.file == "lampd.toml" })
    }

    @Test func aModuleInputPastTheProfileOrTheAddressSpaceIsRefused() {
        let profile = problems("[modbus.traffic_box]\nbus = \"rs485\"\nunit = 2\nprofile = \"di-8\"\ndoor = 8\n")
        #expect(profile.map(\.message) == ["input 8 is outside the module's inputs 0…7"])
        let top = problems("[modbus.traffic_box]\nbus = \"rs485\"\nunit = 2\ntable = \"coil\"\naddress = 65535\ndoor = 0\nflash_mode = 1\n")
        #expect(top.map(\.message) == ["input 1 is outside the module's inputs 0…0"])
        let unknown = problems("[modbus.traffic_box]\nbus = \"rs485\"\nunit = 2\nprofile = \"di-9\"\n")
        #expect(unknown.first?.message.contains("shipped profiles: \"di-16\", \"di-8\"") == true)
        let nothing = problems("[modbus.traffic_box]\nbus = \"rs485\"\nunit = 2\ntable = \"discrete\"\n")
        #expect(nothing.first?.message.contains("no contact is wired") == true)
        let noTable = problems("[modbus.traffic_box]\nbus = \"rs485\"\nunit = 2\ndoor = 0\n")
        #expect(noTable.first?.keyPath == "modbus.traffic_box.table")
    }

    @Test func theCabinetIsEitherOnGPIOOrOnModbus() {
        let found = problems("""
            [modbus.traffic_box]
            bus = "rs485"
            unit = 2
            profile = "di-8"
            [gpio.traffic_box]
            chip = "gpiochip0"
            """)
        #expect(found.map(\.keyPath) == ["modbus.traffic_box"])
        #expect(found.first?.message.contains("not both") == true)
        #expect(found.first?.location.line == 7)
    }

    @Test func bothBuiltInSimulatedCabinetsParse() throws {
        let gpio = try LampdConfiguration.parse(LampdConfiguration.builtInSimulated(cabinet: .gpio))
        #expect(gpio.modbusTrafficBox == nil)
        #expect(gpio.gpioInputs.count == 5)
        let modbus = try LampdConfiguration.parse(LampdConfiguration.builtInSimulated(cabinet: .modbus))
        #expect(modbus.gpioInputs.isEmpty)
        #expect(modbus.modbusTrafficBox?.unit == 2)
        #expect(modbus.modbusTrafficBox?.contacts.count == 5)
    }

    /// Hostile `[modbus.traffic_box]` sections: any value in any key. Parsing never traps; what it
    /// accepts reads inside one request and the protocol's address space; what it refuses has a
    /// line number.
    @Test func fuzzedSectionsAreCheckedNeverTrapped() {
        var random = SeededRandom(seed: 0x13CA_B1E7)
        let keys = ["bus", "unit", "profile", "table", "address", "door", "flash_mode", "controller_fault",
                    "mains_present", "on_battery", "active_low", "poll", "debounce_polls"]
        let values = ["0", "1", "7", "8", "15", "16", "17", "-1", "-9223372036854775808", "9223372036854775807",
                      "65535", "65536", "1999", "2000", "2001", "255", "248", "true", "false", "1.5", "nan", "inf",
                      "\"rs485\"", "\"di-8\"", "\"di-16\"", "\"holding\"", "\"input\"", "\"coil\"", "\"discrete\"",
                      "\"250ms\"", "\"0s\"", "\"99999999999999h\"", "\"\"", "[1, 2]", "{ a = 1 }"]
        for _ in 0..<600 {
            var lines = ["[modbus.traffic_box]"]
            var used: Set<String> = []
            for _ in 0..<Int.random(in: 0...10, using: &random) {
                let key = random.pick(keys)
                guard used.insert(key).inserted else { continue }
                lines.append("\(key) = \(random.pick(values))")
            }
            let text = Self.head + lines.joined(separator: "\n") + "\n"
            do {
                let box = try #require(try LampdConfiguration.parse(text).modbusTrafficBox)
                #expect(!box.contacts.isEmpty)
                #expect((1...box.table.maxReadCount).contains(box.readCount))
                #expect(Int(box.address) + box.readCount <= 65_536)
                #expect(box.contacts.allSatisfy { $0.position >= 0 && (box.table.holdsBits || $0.position < 16) })
                #expect(Set(box.contacts.map(\.position)).count == box.contacts.count)
                #expect((1...20).contains(box.debouncePolls))
            } catch let error as ConfigurationErrors {
                #expect(!error.errors.isEmpty)
                #expect(error.errors.allSatisfy { !$0.message.isEmpty })
            } catch {
                Issue.record("unexpected error \(error) for\n\(text)")
            }
        }
    }
}

/// The bit extraction under every answer and position a hostile or broken module may cause.
@Suite("Sampling: Modbus contact bits")
struct ModbusContactBitsTests {
    @Test func bitsAndRegisterBitsAreWhereTheyAreWritten() {
        let bits = ModbusResponse.bits([true, false, false, true])
        #expect(ModbusContactBits.bit(at: 0, in: bits) == true)
        #expect(ModbusContactBits.bit(at: 3, in: bits) == true)
        #expect(ModbusContactBits.bit(at: 4, in: bits) == nil)
        let word = ModbusResponse.registers([0b1000_0000_0000_0101])
        #expect(ModbusContactBits.bit(at: 0, in: word) == true)
        #expect(ModbusContactBits.bit(at: 1, in: word) == false)
        #expect(ModbusContactBits.bit(at: 2, in: word) == true)
        #expect(ModbusContactBits.bit(at: 15, in: word) == true)
        #expect(ModbusContactBits.bit(at: 16, in: word) == nil)
        #expect(ModbusContactBits.states(of: [0, 1], in: bits, activeLow: true) == [false, true])
        #expect(ModbusContactBits.states(of: [0, 9], in: bits, activeLow: false) == nil)
        #expect(ModbusContactBits.states(of: [0], in: .written, activeLow: false) == nil)
    }

    @Test func hostilePositionsAndAnswersNeverTrap() {
        var random = SeededRandom(seed: 0xB175_0013)
        let edges = [Int.min, Int.min + 1, -65_536, -17, -16, -1, 0, 1, 15, 16, 17, 63, 64, 65, 1999, 2000, 65_535, 65_536, Int.max - 1, Int.max]
        for _ in 0..<5_000 {
            let response: ModbusResponse
            switch Int.random(in: 0..<3, using: &random) {
            case 0: response = .bits((0..<Int.random(in: 0...40, using: &random)).map { _ in Bool.random(using: &random) })
            case 1: response = .registers((0..<Int.random(in: 0...3, using: &random)).map { _ in UInt16.random(in: 0...UInt16.max, using: &random) })
            default: response = .written
            }
            let position = Bool.random(using: &random) ? random.pick(edges) : Int.random(in: -40...40, using: &random)
            let found = ModbusContactBits.bit(at: position, in: response)
            switch response {
            case .bits(let bits):
                #expect(found == (position >= 0 && position < bits.count ? bits[position] : nil))
            case .registers(let words):
                let expected: Bool? = (0..<16).contains(position) ? words.first.map { String($0, radix: 2).reversed().map { $0 == "1" }.dropFirst(position).first ?? false } : nil
                #expect(found == expected, "bit \(position) of \(words)")
            case .written:
                #expect(found == nil)
            }
        }
    }
}
