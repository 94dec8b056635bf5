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
    /// The city's polling period for this source, if it set one (`RemoteSettings`).
    private let remote: RemoteSettings?
    private let logger: Logger

    /// - Throws: `TelemetryError` if a channel name or unit is not valid SenML
    ///   (the configuration check reports these first).
    public init(
        device: ModbusDeviceConfiguration, client: any ModbusClient, sink: any TelemetrySink,
        timeSource: any TimeSource, clock: any MonotonicClock = SystemMonotonicClock(), heartbeats: LoopHeartbeats? = nil,
        answers: ModbusDeviceAnswers? = nil, remote: RemoteSettings? = nil, logger: Logger
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
        self.remote = remote
        self.logger = logger
    }

    /// Name this poller beats under in `LoopHeartbeats`.
    public var loopName: String { "sampling.modbus.\(device.name)" }

    /// Polls until the task is cancelled.
    public func run() async {
        var state = PollState(device: device)
        let name = device.name, configured = device.pollInterval, remote = remote
        await PollingLoop.run(loopName, every: { remote?.samplingPeriod(name) ?? configured },
                              maximumSilenceSeconds: { max(60, 3 * $0.seconds + 30) },
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
        /// The block reads of one poll; a block the unit refused as an illegal
        /// address stays split into the smaller reads that worked.
        var blocks: [ModbusReadBlock]

        init(device: ModbusDeviceConfiguration) {
            reporters = device.registers.map { ChannelReporter(mode: $0.reporting) }
            blocks = ModbusBlockPlanner.plan(device.registers.map(\.span), limits: device.blocks)
        }

        /// Modbus requests a poll of an answering unit takes.
        var requestsPerPoll: Int { blocks.count }
    }

    /// One poll: reads every register block (stopping at the first sign the
    /// unit is gone), records what is to be reported in configuration order,
    /// and the device's transitions.
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
        guard let read = await readBlocks(&state) else { return }  // lampd is stopping
        let answered = read.answered
        var failure = read.failure
        registers: for (index, channel) in channels.enumerated() {
            guard let outcome = read.outcomes[index] else { continue }  // not reached: the unit stopped answering
            switch outcome {
            case .answer(let words, let time):
                do {
                    let value = try decode(words, channel.register)
                    for report in state.reporters[index].offer(value, atSeconds: time.utcSeconds) {
                        record(report, channel: channel, now: time)
                    }
                } catch {
                    failure = error
                    break registers  // as a read of this register alone that answered wrongly
                }
            case .refused(let error):
                // The unit answered, but not with data: a wrong address or type
                // in the configuration, or a device that is busy. Report once.
                if state.misconfigured.insert(channel.register.channel).inserted {
                    sink.record(Event(
                        kind: "modbus.register-error", severity: .warning, channel: channel.name,
                        time: timeSource.now(),
                        message: "\(device.name) register \(channel.register.table.rawValue) \(channel.register.address) (\(channel.register.channel)): \(error.description)"))
                    logger.warning("register error", metadata: ["device": "\(device.name)", "channel": "\(channel.register.channel)", "error": "\(error.description)"])
                }
            }
        }
        answers?.record(device.name, answered: answered && failure == nil, atSeconds: timeSource.now().utcSeconds,
                        failure: failure.map { ($0 as? any HardwareError)?.description ?? "\($0)" } ?? (answered ? nil : "no answer"),
                        failureCode: (failure as? any HardwareError)?.code, requests: read.requests)
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

    /// What one register got from a poll's block reads.
    enum RegisterOutcome {
        /// Its registers (or bit), and when they came off the bus.
        case answer(ModbusResponse, Timestamp)
        /// The unit answered its read with an exception.
        case refused(ModbusError)
    }

    /// What a poll's block reads got: an outcome per register (nil: not read).
    struct BlockReads {
        var outcomes: [RegisterOutcome?]
        var answered = false
        var failure: (any Error)?
        /// Requests sent, refused ones included.
        var requests = 0
    }

    /// Reads the state's blocks in order. A block the unit refuses with an
    /// exception is read again at once in smaller parts, so one bad register
    /// costs only itself; when the refusal is "illegal data address" (or
    /// "illegal data value", which some meters answer to a read over a hole),
    /// the split is kept for the next polls. Stops at the first error that is
    /// not an answer (the unit is gone: no timeout per block). Nil when cancelled.
    private func readBlocks(_ state: inout PollState) async -> BlockReads? {
        let spans = device.registers.map(\.span)
        var reads = BlockReads(outcomes: Array(repeating: nil, count: channels.count))
        // The blocks to read, and whether each belongs to the plan kept for the next poll.
        var work = state.blocks.map { (block: $0, planned: true) }
        var kept: [ModbusReadBlock] = []
        var next = 0
        while next < work.count {
            let (block, planned) = work[next]
            next += 1
            reads.requests += 1
            do {
                let response = try await client.perform(block.request(unit: device.unit))
                let time = timeSource.now()
                let parts = block.members.map { block.slice(of: spans[$0], in: response) }
                guard !parts.contains(nil) else {
                    throw ModbusError(.invalidResponse, bus: client.description, unit: device.unit,
                                      detail: "the answer does not hold the \(block.count) items asked for")
                }
                for (member, part) in zip(block.members, parts) { reads.outcomes[member] = part.map { .answer($0, time) } }
                reads.answered = true
                if planned { kept.append(block) }
            } catch let error as ModbusError where error.isDeviceAnswer {
                reads.answered = true
                guard let parts = ModbusBlockPlanner.split(block, of: spans, limits: device.blocks) else {
                    for member in block.members { reads.outcomes[member] = .refused(error) }
                    if planned { kept.append(block) }
                    continue
                }
                let remember = error.refusesBlockRead
                if remember, planned {
                    logger.notice("block read refused; reading it in smaller parts from now on", metadata: [
                        "device": "\(device.name)", "table": "\(block.table.rawValue)",
                        "block": "\(block.address)×\(block.count)", "parts": "\(parts.count)", "error": "\(error.description)"])
                } else if planned {
                    kept.append(block)  // a busy unit: read in parts this poll only
                }
                work.insert(contentsOf: parts.map { ($0, planned && remember) }, at: next)
            } catch is CancellationError {
                return nil
            } catch {
                reads.failure = error
                kept += work[(next - 1)...].filter(\.planned).map(\.block)  // this block and the unread ones
                break  // the unit is not answering: don't pay a timeout per block
            }
        }
        state.blocks = kept
        return reads
    }

    /// A register's value from its part of a block's answer; decoding is the
    /// same as a read of that register alone.
    private func decode(_ answer: ModbusResponse, _ register: ModbusRegisterConfiguration) throws -> Double {
        func invalid(_ detail: String) -> ModbusError { ModbusError(.invalidResponse, bus: client.description, unit: device.unit, detail: detail) }
        switch answer {
        case .bits(let bits):
            return bits.first == true ? 1 : 0
        case .registers(let words):
            if let bit = register.bit {
                guard let value = ModbusContactBits.bit(at: bit, in: .registers(words)) else { throw invalid("no register in the answer") }
                return value ? 1 : 0
            }
            do {
                return try register.format.decodeNumber(words)
            } catch {
                throw invalid(error.message)
            }
        case .written:
            throw invalid("a write acknowledgement where registers were asked for")
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

    /// The unit refuses the addresses or the length of a block read (exception 2
    /// "illegal data address", or 3 "illegal data value", which some meters answer
    /// to a read over a hole): it will refuse it again on the next poll.
    var refusesBlockRead: Bool {
        if case .exception(let code) = kind { return code == .illegalDataAddress || code == .illegalDataValue }
        return false
    }
}

extension ModbusRegisterConfiguration {
    /// The addresses the register occupies: one bit, one register for a `bit`, or its format's registers.
    var span: ModbusReadSpan {
        ModbusReadSpan(table: table, address: address, count: table.holdsBits || bit != nil ? 1 : format.registerCount)
    }
}

extension Timestamp {
    /// Wall-clock seconds since the Unix epoch.
    var utcSeconds: Double { Double(utcNanoseconds) / 1e9 }
}
