import LampdConfig
import Hardware
import Logging
import Sampling
import Telemetry
import Clocks
import SystemSupport

/// Polls the cabinet's contacts on a Modbus module (`[modbus.traffic_box]`):
/// one request per poll reads every contact, each contact is debounced over
/// consecutive polls, and each accepted change becomes the same reading and
/// event as the contact gives on a GPIO line (`cabinet.door.opened`, …).
///
/// A module that stops answering is not a door that closed: after three
/// failed polls in a row every contact's reading becomes `unknown`, one
/// `cabinet.module-missing` alarm is recorded and the module is retried with
/// backoff; when it answers again, `cabinet.module-back`, and each contact's
/// state counts again once it is known (a change that happened meanwhile is
/// an event, after the debounce).
public struct ModbusCabinetPoller: Sendable {
    public let configuration: ModbusTrafficBoxConfiguration
    let channels: [ChannelName]
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

    /// The name the module's polls are recorded under in `ModbusDeviceAnswers` (`lampctl selftest`
    /// shows it as `modbus.traffic_box`).
    public static let answerName = "traffic_box"

    /// What a contact reads while its module does not answer.
    public static let unknownValue = ReadingValue.string("unknown")

    /// - Throws: `TelemetryError` if a channel name is not valid SenML (the profile's are).
    public init(
        configuration: ModbusTrafficBoxConfiguration, client: any ModbusClient, sink: any TelemetrySink,
        timeSource: any TimeSource, clock: any MonotonicClock = SystemMonotonicClock(), heartbeats: LoopHeartbeats? = nil,
        answers: ModbusDeviceAnswers? = nil, remote: RemoteSettings? = nil, logger: Logger
    ) throws(TelemetryError) {
        self.configuration = configuration
        var channels: [ChannelName] = []
        for wired in configuration.contacts { channels.append(try ChannelName(wired.contact.channel)) }
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
    public var loopName: String { "sampling.modbus.traffic_box" }

    /// Polls until the task is cancelled.
    public func run() async {
        var state = PollState(contacts: configuration.contacts.count)
        let configured = configuration.pollInterval, remote = remote
        await PollingLoop.run(loopName, every: { remote?.samplingPeriod(Self.answerName) ?? configured },
                              maximumSilenceSeconds: { max(60, 3 * $0.seconds + 30) },
                              clock: clock, heartbeats: heartbeats) { now in
            await pollOnce(&state, atSeconds: now)
        }
    }

    /// What the poller remembers between polls.
    struct PollState: Sendable {
        /// A cabinet module is polled fast: it counts as missing after three polls, and is
        /// retried after 1 s, doubling up to 30 s.
        var availability = DeviceAvailability(failuresBeforeMissing: 3, initialBackoffSeconds: 1, maximumBackoffSeconds: 30)
        /// One per contact; nil until the module first answered.
        var debouncers: [PolledContactDebouncer]?
        /// Contacts whose state is not known now (before the first answer, and while the module is missing).
        var unknown: [Bool]

        init(contacts: Int) { unknown = Array(repeating: true, count: contacts) }
    }

    /// One poll: one request for every contact, then debounce, readings and events.
    func pollOnce(_ state: inout PollState, atSeconds now: Double) async {
        guard state.availability.shouldPoll(atSeconds: now) else { return }
        let raw: [Bool]
        do {
            raw = try await readContacts()
        } catch is CancellationError {
            return  // lampd is stopping: the module is not to blame
        } catch {
            let hardware = error as? any HardwareError
            answers?.record(Self.answerName, answered: false, atSeconds: timeSource.now().utcSeconds,
                            failure: hardware?.description ?? "\(error)", failureCode: hardware?.code)
            failed(error, &state, atSeconds: now)
            return
        }
        answers?.record(Self.answerName, answered: true, atSeconds: timeSource.now().utcSeconds)
        if state.availability.recordSuccess(atSeconds: now) == .cameBack {
            record(event: "cabinet.module-back", .info, "cabinet contact module (\(configuration.description)) answers again")
            logger.notice("cabinet module back", metadata: ["module": "\(configuration.description)"])
        }
        guard var debouncers = state.debouncers else {
            state.debouncers = raw.map { PolledContactDebouncer(initialState: $0, pollsRequired: configuration.debouncePolls) }
            for index in raw.indices { recordReading(index, .boolean(raw[index])) }
            state.unknown = Array(repeating: false, count: raw.count)
            return
        }
        for index in raw.indices {
            if let accepted = debouncers[index].observe(raw[index]) {
                changed(index, to: accepted)
                state.unknown[index] = false
            } else if state.unknown[index] && raw[index] == debouncers[index].state {
                recordReading(index, .boolean(raw[index]))  // known again, and unchanged
                state.unknown[index] = false
            }
        }
        state.debouncers = debouncers
    }

    /// Reads every contact in one request; `true` is the contact's active state.
    func readContacts() async throws -> [Bool] {
        let request = ModbusRequest(
            unit: configuration.unit, .read(configuration.table, address: configuration.address, count: configuration.readCount))
        let response = try await client.perform(request)
        guard let states = ModbusContactBits.states(of: configuration.contacts.map(\.position), in: response, activeLow: configuration.activeLow) else {
            throw ModbusError(.invalidResponse, bus: client.description, unit: configuration.unit,
                              detail: "the answer holds fewer items than the contacts need")
        }
        return states
    }

    private func failed(_ error: any Error, _ state: inout PollState, atSeconds now: Double) {
        state.debouncers = state.debouncers.map { $0.map { var debouncer = $0; debouncer.forgetPending(); return debouncer } }
        guard state.availability.recordFailure(atSeconds: now) == .wentMissing else { return }
        let reason = (error as? any HardwareError)?.description ?? "\(error)"
        let channelList = configuration.contacts.map(\.contact.channel).joined(separator: ", ")
        record(event: "cabinet.module-missing", .alarm,
               "cabinet contact module (\(configuration.description)) stopped answering: \(reason); \(channelList) unknown until it answers")
        logger.error("cabinet module missing", metadata: ["module": "\(configuration.description)", "error": "\(reason)"])
        for index in channels.indices {
            recordReading(index, Self.unknownValue, quality: .uncertain)
            state.unknown[index] = true
        }
    }

    private func changed(_ index: Int, to value: Bool) {
        recordReading(index, .boolean(value))
        let (spec, text) = configuration.contacts[index].contact.event(for: value)
        sink.record(Event(kind: spec.kind, severity: spec.severity, channel: channels[index], value: .boolean(value),
                          time: timeSource.now(), message: text))
        logger.notice("input changed", metadata: ["channel": "\(channels[index])", "value": "\(value)"])
    }

    private func recordReading(_ index: Int, _ value: ReadingValue, quality: ReadingQuality = .good) {
        sink.record(Reading(channel: channels[index], value: value, time: timeSource.now(), quality: quality))
    }

    private func record(event kind: String, _ severity: EventSeverity, _ message: String) {
        sink.record(Event(kind: kind, severity: severity, time: timeSource.now(), message: message))
    }
}

/// Contact states out of one Modbus answer: the bits of a discrete-input or
/// coil read, or the bits of a status register. Pure; every position is
/// checked, so a hostile position or a short answer is nil, never a trap.
public enum ModbusContactBits {
    /// The state at `position`: the position-th bit read (bit tables), or bit
    /// `position` of the first register (0 = least significant); nil when the
    /// answer does not hold it.
    public static func bit(at position: Int, in response: ModbusResponse) -> Bool? {
        switch response {
        case .bits(let bits):
            return bits.indices.contains(position) ? bits[position] : nil
        case .registers(let words):
            guard let word = words.first, (0..<UInt16.bitWidth).contains(position) else { return nil }
            return (word >> UInt16(position)) & 1 == 1
        case .written:
            return nil
        }
    }

    /// Every position's state, inverted when `activeLow`; nil if any is missing.
    public static func states(of positions: [Int], in response: ModbusResponse, activeLow: Bool) -> [Bool]? {
        var states: [Bool] = []
        states.reserveCapacity(positions.count)
        for position in positions {
            guard let bit = bit(at: position, in: response) else { return nil }
            states.append(bit != activeLow)
        }
        return states
    }
}
