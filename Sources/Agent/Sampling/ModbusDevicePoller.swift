import LampdConfig
import Hardware
import Logging
import Sampling
import Telemetry
import Clocks
import SystemSupport

/// Polls one Modbus device: reads its registers every poll interval, turns
/// them into readings through each channel's reporting mode, and reports the
/// device missing (and back) with backoff, so a dead unit neither floods the
/// spool with errors nor costs a timeout on every poll of a shared bus.
public struct ModbusDevicePoller: Sendable {
    /// One configured register with the names the spool needs, checked once.
    struct Channel: Sendable {
        var register: ModbusRegisterConfiguration
        var name: ChannelName
        var unit: SenMLUnit
    }

    public let device: ModbusDeviceConfiguration
    let channels: [Channel]
    private let client: any ModbusClient
    private let sink: any TelemetrySink
    private let timeSource: any TimeSource
    /// What the poll interval and heartbeats run on.
    private let clock: any MonotonicClock
    private let heartbeats: LoopHeartbeats?
    private let answers: ModbusDeviceAnswers?
    private let logger: Logger

    /// - Throws: `TelemetryError` if a channel name or unit is not valid SenML
    ///   (the configuration check reports these first).
    public init(
        device: ModbusDeviceConfiguration, client: any ModbusClient, sink: any TelemetrySink,
        timeSource: any TimeSource, clock: any MonotonicClock = SystemMonotonicClock(), heartbeats: LoopHeartbeats? = nil,
        answers: ModbusDeviceAnswers? = nil, logger: Logger
    ) throws(TelemetryError) {
        self.device = device
        var channels: [Channel] = []
        for register in device.registers {
            channels.append(Channel(register: register, name: try ChannelName(register.channel), unit: try SenMLUnit(register.unit)))
        }
        self.channels = channels
        self.client = client
        self.sink = sink
        self.timeSource = timeSource
        self.clock = clock
        self.heartbeats = heartbeats
        self.answers = answers
        self.logger = logger
    }

    /// Name this poller beats under in `LoopHeartbeats`.
    public var loopName: String { "sampling.modbus.\(device.name)" }

    /// Polls until the task is cancelled.
    public func run() async {
        var state = PollState(device: device)
        let interval = device.pollInterval
        await PollingLoop.run(loopName, every: interval, maximumSilenceSeconds: max(60, 3 * interval.seconds + 30),
                              clock: clock, heartbeats: heartbeats) { now in
            await pollOnce(&state, atSeconds: now)
        }
    }

    /// What a poller remembers between polls.
    struct PollState {
        var availability = DeviceAvailability()
        var reporters: [ChannelReporter]
        /// Registers that answered with a configuration-type error, reported once each.
        var misconfigured: Set<String> = []

        init(device: ModbusDeviceConfiguration) {
            reporters = device.registers.map { ChannelReporter(mode: $0.reporting) }
        }
    }

    /// One poll: reads every register (stopping at the first sign the unit is
    /// gone), records what is to be reported, and the device's transitions.
    func pollOnce(_ state: inout PollState, atSeconds now: Double) async {
        // Reporters run on wall-clock seconds so aggregate windows line up
        // with the clock (:00, :05, …) on every pole; backoff uses steady time.
        let wallNow = timeSource.now()
        for index in state.reporters.indices {
            for report in state.reporters[index].flush(atSeconds: wallNow.utcSeconds) {
                record(report, channel: channels[index], now: wallNow)
            }
        }
        guard state.availability.shouldPoll(atSeconds: now) else { return }
        var answered = false
        var failure: (any Error)?
        for (index, channel) in channels.enumerated() {
            do {
                let value = try await read(channel.register)
                answered = true
                let time = timeSource.now()
                for report in state.reporters[index].offer(value, atSeconds: time.utcSeconds) {
                    record(report, channel: channel, now: time)
                }
            } catch let error as ModbusError where error.isDeviceAnswer {
                // The unit answered, but not with data: a wrong address or type
                // in the configuration, or a device that is busy. Report once.
                answered = true
                if state.misconfigured.insert(channel.register.channel).inserted {
                    sink.record(Event(
                        kind: "modbus.register-error", severity: .warning, channel: channel.name,
                        time: timeSource.now(),
                        message: "\(device.name) register \(channel.register.table.rawValue) \(channel.register.address) (\(channel.register.channel)): \(error.description)"))
                    logger.warning("register error", metadata: ["device": "\(device.name)", "channel": "\(channel.register.channel)", "error": "\(error.description)"])
                }
            } catch is CancellationError {
                return  // lampd is stopping: the unit is not to blame
            } catch {
                failure = error
                break  // the unit is not answering: don't pay a timeout per register
            }
        }
        answers?.record(device.name, answered: answered && failure == nil, atSeconds: timeSource.now().utcSeconds,
                        failure: failure.map { ($0 as? any HardwareError)?.description ?? "\($0)" } ?? (answered ? nil : "no answer"),
                        failureCode: (failure as? any HardwareError)?.code)
        let transition = answered && failure == nil
            ? state.availability.recordSuccess(atSeconds: now)
            : state.availability.recordFailure(atSeconds: now)
        switch transition {
        case .wentMissing?:
            let reason = (failure as? any HardwareError)?.description ?? failure.map { "\($0)" } ?? "no answer"
            sink.record(Event(
                kind: "modbus.device-missing", severity: .alarm, time: timeSource.now(),
                message: "\(device.name) (unit \(device.unit)) stopped answering: \(reason)"))
            logger.error("device missing", metadata: ["device": "\(device.name)", "error": "\(reason)"])
        case .cameBack?:
            sink.record(Event(
                kind: "modbus.device-back", severity: .info, time: timeSource.now(),
                message: "\(device.name) (unit \(device.unit)) answers again"))
            logger.notice("device back", metadata: ["device": "\(device.name)"])
        case nil:
            break
        }
    }

    private func read(_ register: ModbusRegisterConfiguration) async throws -> Double {
        switch register.table {
        case .coil, .discreteInput:
            let bits = try await client.readBits(register.table, unit: device.unit, address: register.address, count: 1)
            return bits.first == true ? 1 : 0
        case .holdingRegister, .inputRegister:
            if let bit = register.bit {
                let words = try await client.readRegisters(register.table, unit: device.unit, address: register.address, count: 1)
                guard let value = ModbusContactBits.bit(at: bit, in: .registers(words)) else {
                    throw ModbusError(.invalidResponse, bus: client.description, unit: device.unit, detail: "no register in the answer")
                }
                return value ? 1 : 0
            }
            return try await client.readNumber(register.table, unit: device.unit, address: register.address, format: register.format)
        }
    }

    /// Records a report; its time is `now` moved back to the report's own
    /// time (an aggregate stands for its window's start).
    private func record(_ report: ChannelReporter.Report, channel: Channel, now: Timestamp) {
        var time = now
        let shiftNanoseconds = Int64(((report.atSeconds - now.utcSeconds) * 1e9).rounded())
        time.utcNanoseconds += shiftNanoseconds
        time.bootNanoseconds += shiftNanoseconds
        var name = channel.name
        if report.statistic != .sample, let suffixed = ChannelName(rawValue: "\(channel.name.rawValue).\(report.statistic.rawValue)") {
            name = suffixed
        }
        let quality: ReadingQuality = report.value.isFinite ? .good : .bad
        sink.record(Reading(channel: name, value: .number(report.value), unit: channel.unit, time: time, quality: quality))
    }
}

extension ModbusError {
    /// The unit answered (an exception response): it is alive, the request was wrong.
    var isDeviceAnswer: Bool {
        if case .exception = kind { return true }
        return false
    }
}

extension Timestamp {
    /// Wall-clock seconds since the Unix epoch.
    var utcSeconds: Double { Double(utcNanoseconds) / 1e9 }
}
