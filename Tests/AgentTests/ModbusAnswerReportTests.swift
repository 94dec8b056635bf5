import ControlProtocol
@testable import LampdConfig
import Foundation
import Hardware
import Telemetry
import Testing
@testable import Agent

/// What lampd says about a Modbus unit that fails: a malformed answer or an
/// exception is never reported as "did not answer", and a stop is nobody's fault.
@Suite("Modbus failures as lampd reports them")
struct ModbusAnswerReportTests {
    /// A bus on which every request fails with one error.
    struct FailingBus: ModbusClient {
        var error: any Error
        var description: String { "192.0.2.10:502" }
        func perform(_ request: ModbusRequest) async throws -> ModbusResponse { throw error }
    }

    let time = TestTimeSource()
    let answers = ModbusDeviceAnswers()
    let sink = RecordingSink()
    let configuration: LampdConfiguration

    init() throws {
        configuration = try LampdConfiguration.parse("""
            [board]
            kind = "live"
            id = "p"
            [[modbus.buses]]
            name = "lan"
            tcp = "192.0.2.10:502"
            [[modbus.devices]]
            name = "meter"
            bus = "lan"
            unit = 3
            profile = "eastron-sdm120"
            """)
    }

    func poll(_ error: any Error, times: Int = 1) async throws {
        let device = try #require(configuration.modbusDevices.first)
        let poller = try ModbusDevicePoller(device: device, client: FailingBus(error: error), sink: sink, timeSource: time,
                                            answers: answers, logger: silentLogger)
        var state = ModbusDevicePoller.PollState(device: device)
        for poll in 0..<times { await poller.pollOnce(&state, atSeconds: Double(poll) * 600) }
    }

    func selfTestDetail() async throws -> String {
        let test = DaemonSelfTest(configuration: configuration, telemetry: RecentTelemetry(forwardingTo: RecordingSink()), answers: answers,
                                  heartbeats: LoopHeartbeats(), notifier: SystemdNotifier(socketPath: nil), timeSource: time,
                                  started: .now - .seconds(600))
        return try #require(await test.run().first { $0.name == "modbus.meter" }).detail
    }

    @Test func aMalformedAnswerIsReportedAsAWrongAnswer() async throws {
        try await poll(ModbusError(.invalidResponse, bus: "192.0.2.10:502", unit: 3, detail: "wrong function, transaction id, byte count or length"))
        #expect(answers.entry("meter")?.failureCode == "modbus.invalid-response")
        let detail = try await selfTestDetail()
        #expect(detail.hasPrefix("unit 3 on bus lan answered wrongly: Modbus unit 3 on 192.0.2.10:502 sent an answer that does not match"), "\(detail)")
        #expect(!detail.contains("did not answer"), "\(detail)")
    }

    @Test func aBadCRCIsReportedAsAWrongAnswerWithItsAdvice() async throws {
        try await poll(ModbusError(.badCRC, bus: "/dev/ttyS1", unit: 3))
        let detail = try await selfTestDetail()
        #expect(detail.contains("answered wrongly: Modbus unit 3 on /dev/ttyS1 sent a frame with a bad CRC — check baud rate, parity"), "\(detail)")
    }

    @Test func aSilentUnitIsStillNoAnswer() async throws {
        try await poll(ModbusError(.timeout, bus: "192.0.2.10:502", unit: 3, timeout: .milliseconds(500)))
        let detail = try await selfTestDetail()
        #expect(detail.hasPrefix("unit 3 on bus lan did not answer: Modbus unit 3 on 192.0.2.10:502 did not answer within 500 ms"), "\(detail)")
    }

    @Test func stoppingLampdIsNotADeviceFailure() async throws {
        try await poll(CancellationError(), times: 5)
        #expect(answers.entry("meter") == nil, "a cancelled poll recorded an outcome")
        #expect(sink.events.isEmpty, "a cancelled poll raised \(sink.events.map(\.kind))")
    }

    @Test func everyCodeHasAVerdictAndOnlyTimeoutsAreNoAnswer() {
        let kinds: [ModbusError.Kind] = [.timeout, .busBusy, .exception(.illegalDataAddress), .badCRC, .invalidResponse, .deviceNotFound,
                                         .permissionDenied, .connectionRefused, .unreachable, .connectionLost, .rs485Unsupported,
                                         .invalidArgument, .valueOutOfRange, .io]
        for kind in kinds {
            let verdict = ModbusError.verdict(code: ModbusError(kind, bus: "b").code)
            #expect((verdict == "did not answer") == (kind == .timeout), "\(kind): \(verdict)")
            #expect(verdict != "failed", "\(kind) has no verdict")
        }
    }
}
