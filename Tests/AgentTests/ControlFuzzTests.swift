import ControlProtocol
import Foundation
import Testing
import TestSupport
@testable import Agent

/// Random and mutated request lines through the real control server on a socket: every line
/// gets one answer, no command fails with `internal` or `timeout` (a trap would kill the test
/// process), and the server still answers afterwards (issue 11: keep the class found).
@Suite("Control fuzz")
struct ControlFuzzTests {
    static let commands = [
        "ping", "status", "spool.stats", "events", "spool.export", "lamp.set", "lamp.clear", "lamp.test",
        "lamp.explain", "sync.now", "uplink.status", "no.such",
    ]
    static let keys = [
        "since", "sinceSeconds", "limit", "format", "level", "forSeconds", "rampSeconds", "reason", "stepSeconds", "timeoutSeconds", "sinceTime",
    ]
    /// The arguments each command reads.
    static let commandKeys: [String: [String]] = [
        "events": ["since", "sinceSeconds", "limit"], "spool.export": ["since", "sinceTime", "sinceSeconds", "format", "limit"],
        "lamp.set": ["level", "forSeconds", "rampSeconds", "reason"], "lamp.test": ["stepSeconds"], "sync.now": ["timeoutSeconds"],
    ]
    /// Numbers as JSON text: huge, negative, fractional, beyond Int64 or what a Double holds exactly.
    static let numbers = [
        "0", "-0", "1", "-1", "30", "100", "101", "0.5", "1e300", "-1e300", "9.3e9", "-9.3e9", "9.2e18", "-9.3e18", "1.8e19",
        "9007199254740993", "9223372036854775807", "-9223372036854775808", "18446744073709551616", "5e-324", "3650e5",
    ]
    /// Numbers JSON does not allow (the whole line is then not JSON).
    static let brokenNumbers = ["1e400", "-1e400", "NaN", "Infinity", "-Infinity", "1e", "--1", "0x10"]
    /// Fragments the mutator inserts.
    static let dictionary: [[UInt8]] = (numbers + brokenNumbers + [
        "{", "}", "[", "]", ",", ":", "\"", "\\u0000", "\\ud800", "null", "true", "\"v\":1", "\"command\":", "\"arguments\":",
    ]).map { Array($0.utf8) } + [[0xff], [0xc3], [0xed, 0xa0, 0x80], [0x00], [0x0d]]

    /// A JSON value as text: hostile numbers, wrong types, long strings, nesting.
    static func value(_ random: inout SeededRandom, depth: Int = 0) -> String {
        switch Int.random(in: 0..<10, using: &random) {
        case 0...3: return Int.random(in: 0..<20, using: &random) == 0 ? random.pick(brokenNumbers) : random.pick(numbers)
        case 4: return random.pick(["true", "false", "null"])
        case 5: return "\"" + random.pick(["senml-json", "csv", "xml", "", "a\\nb", "\\u001b[2K"]) + "\""
        case 6: return "\"" + String(repeating: random.pick(["x", "é", "\\n"]), count: Int.random(in: 0...4000, using: &random)) + "\""
        case 7 where depth < 3:
            return "[" + (0..<Int.random(in: 0...3, using: &random)).map { _ in value(&random, depth: depth + 1) }.joined(separator: ",") + "]"
        case 8 where depth < 3:
            return "{\"" + random.pick(keys) + "\":" + value(&random, depth: depth + 1) + "}"
        case 9 where Int.random(in: 0..<4, using: &random) == 0:
            let depth = Int.random(in: 1...3000, using: &random)
            return String(repeating: "[", count: depth) + String(repeating: "]", count: depth)
        default:
            return random.pick(numbers)
        }
    }

    /// A request line with id `id`: mostly well formed, with hostile arguments and claims.
    static func request(_ random: inout SeededRandom, id: Int) -> String {
        let command = random.pick(commands)
        var members = ["\"v\":1", "\"id\":\(id)", "\"command\":\"\(command)\""]
        let known = commandKeys[command] ?? keys
        let arguments = (0..<Int.random(in: 0...3, using: &random)).map { _ in
            "\"\(Int.random(in: 0..<5, using: &random) == 0 ? random.pick(keys) : random.pick(known))\":\(value(&random))"
        }
        members.append(Int.random(in: 0..<8, using: &random) == 0 ? "\"arguments\":\(value(&random))" : "\"arguments\":{\(arguments.joined(separator: ","))}")
        if Bool.random(using: &random) {
            members.append("\"client\":{\"user\":\(value(&random)),\"ssh\":\"10.0.0.5\\n22\"}")
        }
        return "{" + members.shuffled(using: &random).joined(separator: ",") + "}"
    }

    @Test func randomAndMutatedRequestsAllGetAnAnswer() async throws {
        let bed = try await ControlTestBed(extra: [
            LampSetCommand(lighting: nil), LampClearCommand(lighting: nil), LampTestCommand(lighting: nil),
            LampExplainCommand(lighting: nil), SyncNowCommand(uplink: nil), UplinkStatusCommand(uplink: nil),
        ])
        defer { bed.finish() }
        try bed.start()
        try await bed.sample()
        var random = SeededRandom(seed: 0x1A3D_0011)
        var connection = try await bed.connect()
        var codes: [String: Int] = [:]
        for id in 1...600 {
            let text = Self.request(&random, id: id)
            let mutated = Int.random(in: 0..<4, using: &random) == 0
            var line = mutated ? random.mutate(Array(text.utf8), maximumEdits: 6, dictionary: Self.dictionary) : Array(text.utf8)
            line.removeAll { $0 == UInt8(ascii: "\n") }  // one request per line
            let sent = line
            let answer = try await ControlConnection.perform { [connection] in try connection.exchange(line: Data(sent)) }
            let response = try JSONDecoder().decode(ControlResponse.self, from: answer)
            let code = response.error?.code ?? "ok"
            codes[code, default: 0] += 1
            #expect(!["internal", "timeout"].contains(code), "request \(id): \(String(decoding: sent.prefix(300), as: UTF8.self)) → \(response.error?.message ?? "")")
            if !mutated, case .object? = try? JSONDecoder().decode(JSONValue.self, from: Data(sent)) {
                #expect(response.id == .number(Double(id)), "request \(id) answered with id \(String(describing: response.id))")
            }
            if code == "request-too-large" { connection = try await bed.connect() }
        }
        #expect(codes["bad-arguments", default: 0] > 100, "the arguments were exercised: \(codes)")
        #expect(codes["ok", default: 0] > 10, "\(codes)")
        print("control fuzz: answers by code \(codes.sorted { $0.key < $1.key })")
        #expect(try await bed.connect().call("ping").ok)
    }
}
