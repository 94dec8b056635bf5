import Foundation
import Testing
import TestSupport

/// The built `lampctl modbus` against the pymodbus peer, as a technician runs it.
@Suite("lampctl modbus", .serialized)
struct ModbusCommandTests {
    static func busArguments(_ peer: ModbusPeer) -> [String] {
        switch peer.transport {
        case .tcp: ["--tcp", peer.tcpAddress]
        case .rtu: ["--rtu", peer.clientDevice, "--baud", "9600", "--parity", "none"]
        }
    }

    @Test(arguments: [ModbusPeer.Transport.tcp, .rtu])
    func readsAFloat32(transport: ModbusPeer.Transport) async throws {
        try await ModbusPeer.with(transport) { peer in
            let bus = Self.busArguments(peer)
            let text = try await ChildProcess.run(product: "lampctl", ["modbus", "read"] + bus + ["--unit", "1", "--table", "holding", "--address", "206", "--type", "f32", "--order", "CDAB"])
            #expect(text.exitCode == 0, "\(text.stderr)")
            #expect(text.stdout.contains("f32 CDAB @206: 230.5"))
            #expect(text.stdout.contains("0x4366"))
            #expect(text.stdout.split(separator: "\n").allSatisfy { $0.count <= 80 })

            let json = try await ChildProcess.run(product: "lampctl", ["modbus", "read"] + bus + ["--unit", "2", "--table", "input", "--address", "106", "--type", "f32", "--json"])
            #expect(json.exitCode == 0, "\(json.stderr)")
            let object = try #require(try json.jsonObject())
            #expect(object["registers"] as? [Int] == [0x4366, 0x8000])
            let values = try #require(object["values"] as? [[String: Any]])
            #expect(values.first?["value"] as? Double == 230.5)
        }
    }

    @Test func writeThenRead() async throws {
        try await ModbusPeer.with(.tcp) { peer in
            let bus = Self.busArguments(peer)
            let write = try await ChildProcess.run(product: "lampctl", ["modbus", "write"] + bus + ["--address", "40", "--type", "i32", "--order", "BADC", "--value", "-7", "--value", "70000"])
            #expect(write.exitCode == 0, "\(write.stderr)")
            let read = try await ChildProcess.run(product: "lampctl", ["modbus", "read"] + bus + ["--address", "40", "--count", "2", "--type", "i32", "--order", "BADC", "--json"])
            let values = try #require(try read.jsonObject()?["values"] as? [[String: Any]])
            #expect(values.compactMap { $0["value"] as? Double } == [-7, 70000])

            let coil = try await ChildProcess.run(product: "lampctl", ["modbus", "write"] + bus + ["--table", "coil", "--address", "50", "--value", "on"])
            #expect(coil.exitCode == 0, "\(coil.stderr)")
            let bits = try await ChildProcess.run(product: "lampctl", ["modbus", "read"] + bus + ["--table", "coil", "--address", "50", "--json"])
            #expect(try bits.jsonObject()?["bits"] as? [Bool] == [true])
        }
    }

    @Test func scanFindsUnitsOneAndTwo() async throws {
        try await ModbusPeer.with(.tcp) { peer in
            let scan = try await ChildProcess.run(product: "lampctl", ["modbus", "scan"] + Self.busArguments(peer) + ["--units", "1-4", "--timeout", "100ms", "--json"])
            #expect(scan.exitCode == 0, "\(scan.stderr)")
            let units = try #require(try scan.jsonObject()?["units"] as? [[String: Any]])
            #expect(units.compactMap { $0["unit"] as? Int } == [1, 2])
            let text = try await ChildProcess.run(product: "lampctl", ["modbus", "scan"] + Self.busArguments(peer) + ["--units", "1-3"])
            #expect(text.stdout.contains("2 of 3 units answer"))
        }
    }

    @Test func deadUnitExitsOneWithTheTimeoutMessage() async throws {
        try await ModbusPeer.with(.tcp) { peer in
            let read = try await ChildProcess.run(product: "lampctl", ["modbus", "read"] + Self.busArguments(peer) + ["--unit", "3", "--address", "0", "--timeout", "200ms"])
            #expect(read.exitCode == 1)
            #expect(read.stderr.contains("Modbus unit 3 on \(peer.tcpAddress) did not answer within 200 ms"))
            let json = try await ChildProcess.run(product: "lampctl", ["modbus", "read"] + Self.busArguments(peer) + ["--unit", "3", "--address", "0", "--timeout", "200ms", "--json"])
            #expect(json.exitCode == 1)
            let error = try #require(try json.jsonObject()?["error"] as? [String: Any])
            #expect(error["code"] as? String == "modbus.timeout")
        }
    }

    @Test(arguments: [
        ["modbus", "read", "--address", "0"],                                        // no bus
        ["modbus", "read", "--tcp", "127.0.0.1:1502", "--rtu", "/dev/ttyS1", "--address", "0"],  // both
        ["modbus", "read", "--tcp", "127.0.0.1:1502", "--address", "70000"],         // bad address
        ["modbus", "read", "--tcp", "127.0.0.1:1502", "--address", "0", "--type", "f99"],
        ["modbus", "read", "--tcp", "127.0.0.1:1502", "--address", "0", "--order", "ABDC"],
        ["modbus", "read", "--tcp", "127.0.0.1:1502"],                               // no address
        ["modbus", "write", "--tcp", "127.0.0.1:1502", "--address", "0", "--value", "70000"],
        ["modbus", "write", "--tcp", "127.0.0.1:1502", "--table", "input", "--address", "0", "--value", "1"],
        ["modbus", "scan", "--tcp", "127.0.0.1:1502", "--units", "0-300"],
        ["modbus", "read", "--rtu", "/dev/ttyS1", "--parity", "mark", "--address", "0"],
    ])
    func usageErrorsExitTwo(arguments: [String]) async throws {
        let result = try await ChildProcess.run(product: "lampctl", arguments)
        #expect(result.exitCode == 2, "\(arguments): \(result.stderr)")
        #expect(result.stderr.hasPrefix("lampctl: "))
    }

    /// `modbus read --timeout 500ms` against a peer trickling one byte every 0.3 s took 3.7 s (issue 11 #7).
    @Test func aTricklingPeerCostsTheTimeoutNotOnePerByte() async throws {
        try await MisbehavingModbusPeer.with(.trickle) { peer in
            let clock = ContinuousClock()
            let start = clock.now
            let read = try await ChildProcess.run(product: "lampctl", ["modbus", "read", "--tcp", "127.0.0.1:\(peer.port)", "--address", "10", "--count", "100", "--timeout", "500ms"])
            let elapsed = clock.now - start
            #expect(read.exitCode == 1, "\(read.stdout)\(read.stderr)")
            #expect(read.stderr.contains("did not answer within 500 ms (no complete answer)"), "\(read.stderr)")
            // The whole answer trickles for over 60 s (209 bytes × 0.3 s); bounded, the read ends after the
            // 500 ms timeout plus the process start. 20 s leaves a wide margin for a loaded machine.
            #expect(elapsed < .seconds(20), "lampctl took \(elapsed)")
        }
    }

    @Test func aMalformedAnswerIsNotReportedAsNoAnswer() async throws {
        try await MisbehavingModbusPeer.with(.wrongFunction) { peer in
            let read = try await ChildProcess.run(product: "lampctl", ["modbus", "read", "--tcp", "127.0.0.1:\(peer.port)", "--address", "10", "--timeout", "500ms"])
            #expect(read.exitCode == 1, "\(read.stdout)\(read.stderr)")
            #expect(read.stderr.contains("sent an answer that does not match the request"), "\(read.stderr)")
            #expect(!read.stderr.contains("did not answer"), "\(read.stderr)")
        }
    }
}
