internal import CModbus
import Dispatch
import Synchronization
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// A live Modbus bus over libmodbus: one RTU serial line or one Modbus TCP
/// connection.
///
/// Every libmodbus call for the bus runs on one dedicated serial dispatch
/// queue, never on Swift's cooperative pool: requests are served one at a
/// time in arrival order (RS-485 is half-duplex), and a unit that does not
/// answer costs exactly one response timeout per request, after which the
/// next request — to any unit — goes out on a flushed line.
///
/// `ModbusBus(_:onWarning:)` opens nothing: the serial port or TCP
/// connection opens on the first request, and again on the next request
/// after it could not be opened or broke, so a USB adapter unplugged at
/// start-up (lampd) shows as failed requests with the reason instead of
/// stopping the caller. `ModbusBus.open(_:)` opens an RTU line at once
/// (lampctl, which should fail before anything else). All errors are
/// `ModbusError`.
public final class ModbusBus: ModbusClient, @unchecked Sendable {
    // @unchecked Sendable: `handle` and `connected` are only touched on
    // `queue` (a serial queue), which is what makes the non-thread-safe
    // libmodbus context safe to share; `lanes` and `reportedWarnings` are
    // behind their own locks.

    /// The libmodbus context, made by the first request (or `open`); freed in `deinit`.
    private var handle: OpaquePointer?
    private let queue: DispatchQueue
    private var connected = false
    /// Requests waiting for the bus; the queue runs one per block it is given.
    private let lanes = Mutex(ModbusRequestLanes())
    private let reportedWarnings = Mutex<[ModbusBusWarning]>([])
    private let onWarning: @Sendable (ModbusBusWarning) -> Void

    /// Where and how this bus talks.
    public let configuration: ModbusBusConfiguration
    /// Things the caller should log, e.g. RS-485 mode requested as
    /// `ifSupported` but not available on this port; each is also passed to
    /// `onWarning` once, when it first happens.
    public var warnings: [ModbusBusWarning] { reportedWarnings.withLock { $0 } }

    public var description: String { configuration.transport.description }

    /// A bus that opens its port or connection on its first request (see the type's doc).
    /// A bad setting is not refused here: every request then fails with `.invalidArgument`.
    public init(_ configuration: ModbusBusConfiguration, onWarning: @escaping @Sendable (ModbusBusWarning) -> Void = { _ in }) {
        self.configuration = configuration
        self.onWarning = onWarning
        self.queue = DispatchQueue(label: "lampd.modbus \(configuration.transport.description)")
    }

    deinit {
        if let handle {
            modbus_close(handle)
            modbus_free(handle)
        }
    }

    /// Opens a bus. An RTU line opens its serial device now (and applies the
    /// RS-485 mode); a TCP bus connects on its first request.
    ///
    /// - Throws: `ModbusError` — `.deviceNotFound`, `.permissionDenied`,
    ///   `.rs485Unsupported` (mode `required` on a port without RS-485),
    ///   `.invalidArgument` (baud, data bits, stop bits, timeout, port).
    public static func open(_ configuration: ModbusBusConfiguration) async throws -> ModbusBus {
        try validate(configuration)
        let bus = ModbusBus(configuration)
        try await bus.queue.perform {
            let handle = try bus.context()
            if case .rtu = configuration.transport {
                try bus.connect(handle, timeout: configuration.timeout)
            }
        }
        return bus
    }

    /// The libmodbus context, made now if there is none yet. On the bus queue only.
    private func context() throws(ModbusError) -> OpaquePointer {
        if let handle { return handle }
        try Self.validate(configuration)
        let bus = description
        let made: OpaquePointer
        switch configuration.transport {
        case .rtu(let rtu):
            made = try Self.pointerOrErrno(bus: bus) {
                modbus_new_rtu(rtu.device, Int32(rtu.baudRate), rtu.parity.letter, Int32(rtu.dataBits), Int32(rtu.stopBits))
            }
        case .tcp(let host, let port):
            made = try Self.pointerOrErrno(bus: bus) { modbus_new_tcp_pi(host, String(port)) }
        }
        handle = made
        return made
    }

    private static func validate(_ configuration: ModbusBusConfiguration) throws(ModbusError) {
        let bus = configuration.transport.description
        func invalid(_ detail: String) -> ModbusError { ModbusError(.invalidArgument, bus: bus, detail: detail) }
        guard configuration.timeout > .zero else { throw invalid("timeout must be positive") }
        switch configuration.transport {
        case .rtu(let rtu):
            guard !rtu.device.isEmpty else { throw invalid("no serial device given") }
            guard (50...4_000_000).contains(rtu.baudRate) else { throw invalid("baud rate \(rtu.baudRate) is not a serial speed") }
            guard (5...8).contains(rtu.dataBits) else { throw invalid("data bits must be 5…8, not \(rtu.dataBits)") }
            guard (1...2).contains(rtu.stopBits) else { throw invalid("stop bits must be 1 or 2, not \(rtu.stopBits)") }
        case .tcp(let host, let port):
            guard !host.isEmpty else { throw invalid("no host given") }
            guard (1...65535).contains(port) else { throw invalid("port \(port) is outside 1…65535") }
        }
    }

    // MARK: Requests (ModbusClient)

    public func perform(_ request: ModbusRequest) async throws -> ModbusResponse {
        try request.check(bus: description)
        let (unit, function) = (request.unit, request.function)
        return try await self.request(unit: unit, timeout: request.timeout, urgent: request.isWrite) {
            (handle, timeout) throws(ModbusError) in
            try self.send(function, handle: handle, unit: unit, timeout: timeout)
        }
    }

    /// The libmodbus call for one request. On the bus queue only.
    private func send(
        _ function: ModbusRequest.Function, handle: OpaquePointer, unit: UInt8, timeout: Duration
    ) throws(ModbusError) -> ModbusResponse {
        func call(_ body: () -> Int32) throws(ModbusError) { _ = try callOrErrno(unit: unit, timeout: timeout, body) }
        switch function {
        case .read(let table, let address, let count) where table.holdsBits:
            var bits = [UInt8](repeating: 0, count: count)
            try call {
                bits.withUnsafeMutableBufferPointer { buffer in
                    table == .coil
                        ? modbus_read_bits(handle, Int32(address), Int32(count), buffer.baseAddress)
                        : modbus_read_input_bits(handle, Int32(address), Int32(count), buffer.baseAddress)
                }
            }
            return .bits(bits.map { $0 != 0 })
        case .read(let table, let address, let count):
            var registers = [UInt16](repeating: 0, count: count)
            try call {
                registers.withUnsafeMutableBufferPointer { buffer in
                    table == .holdingRegister
                        ? modbus_read_registers(handle, Int32(address), Int32(count), buffer.baseAddress)
                        : modbus_read_input_registers(handle, Int32(address), Int32(count), buffer.baseAddress)
                }
            }
            return .registers(registers)
        case .writeCoil(let address, let value):
            try call { modbus_write_bit(handle, Int32(address), value ? 1 : 0) }
        case .writeCoils(let address, let values):
            let bits = values.map { UInt8($0 ? 1 : 0) }
            try call { bits.withUnsafeBufferPointer { buffer in modbus_write_bits(handle, Int32(address), Int32(bits.count), buffer.baseAddress) } }
        case .writeRegister(let address, let value):
            try call { modbus_write_register(handle, Int32(address), value) }
        case .writeRegisters(let address, let values):
            try call { values.withUnsafeBufferPointer { buffer in modbus_write_registers(handle, Int32(address), Int32(values.count), buffer.baseAddress) } }
        }
        return .written
    }

    // MARK: The queue

    /// Runs one request on the bus queue: connects if needed, addresses the
    /// unit, bounds the whole exchange by `timeout`, and cleans the line after
    /// a failure.
    ///
    /// The caller waits at most for the exchange in progress (itself bounded),
    /// then its own, plus `ModbusRequestTicket.grace`; it stops waiting at once
    /// when its task is cancelled. A request whose caller stopped waiting
    /// before it reached the bus is never sent. Writes (`urgent`: a lamp
    /// command) go ahead of queued reads (meter polls).
    private func request<T: Sendable>(
        unit: UInt8, timeout: Duration?, urgent: Bool = false,
        _ body: @escaping @Sendable (OpaquePointer, Duration) throws(ModbusError) -> T
    ) async throws -> T {
        let timeout = timeout ?? configuration.timeout
        guard timeout > .zero else {
            throw ModbusError(.invalidArgument, bus: description, unit: unit, detail: "timeout must be positive")
        }
        let ticket = ModbusRequestTicket<T>()
        let bus = description
        return try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<T, any Error>) in
                guard ticket.attach(continuation) else { return }  // cancelled already
                lanes.withLock { $0.append(urgent: urgent) { [self] in
                    guard ticket.start() else { return }  // the caller stopped waiting: not sent
                    ticket.finish(Result { () throws(ModbusError) -> T in try onQueue(unit: unit, timeout: timeout, body) })
                } }
                queue.async { [self] in
                    lanes.withLock { $0.next() }?()
                }
                // Belt and braces: libmodbus bounds the exchange itself, but a name
                // lookup (getaddrinfo) in a TCP connect is bounded only by the resolver.
                let waitLimit = ModbusRequestTicket<T>.waitLimit(timeout: timeout)
                DispatchQueue.global().asyncAfter(deadline: .now() + .nanoseconds(ModbusRequestTicket<T>.nanoseconds(waitLimit))) {
                    ticket.giveUp(bus: bus, unit: unit, timeout: timeout, waited: waitLimit)
                }
            }
        } onCancel: {
            ticket.cancel()
        }
    }

    private func onQueue<T>(
        unit: UInt8, timeout: Duration, _ body: (OpaquePointer, Duration) throws(ModbusError) -> T
    ) throws(ModbusError) -> T {
        dispatchPrecondition(condition: .onQueue(queue))
        // One deadline for the whole request: connecting (TCP), sending, and
        // every byte of the answer.
        let deadline = ContinuousClock.now + timeout
        let handle = try context()
        if !connected {
            try connect(handle, timeout: timeout)
        }
        _ = try callOrErrno(unit: unit, timeout: timeout) { modbus_set_slave(handle, Int32(unit)) }
        let left = deadline - ContinuousClock.now
        guard left > .zero else {
            throw ModbusError(.timeout, bus: description, unit: unit, timeout: timeout, detail: "connecting took the whole timeout")
        }
        try bound(handle, answerWithin: left, unit: unit, timeout: timeout)
        do {
            return try body(handle, timeout)
        } catch {
            switch error.kind {
            case .timeout, .badCRC, .invalidResponse:
                // Drop whatever half-frame or late answer is still on the line,
                // so the next request (to any unit) reads only its own answer.
                _ = modbus_flush(handle)
            case .connectionLost, .io, .deviceNotFound, .connectionRefused, .unreachable:
                // Reopen the link on the next request (TCP reconnect, USB adapter replugged).
                modbus_close(handle)
                connected = false
            default:
                break
            }
            throw error
        }
    }

    /// Makes libmodbus end the whole answer within `left`, however the peer spaces its bytes.
    ///
    /// libmodbus (3.1.x) waits `response timeout` for the first byte and then
    /// `byte timeout` for each next one, so a peer sending one byte every
    /// 0.3 s stretches an answer to n × 0.3 s. With the byte timeout disabled
    /// (0 s 0 µs), libmodbus keeps passing the same `struct timeval` to
    /// select(2), which Linux decrements by the time waited: the response
    /// timeout then bounds the whole answer (libmodbus documents this for
    /// `modbus_set_byte_timeout(ctx, 0, 0)`).
    private func bound(_ handle: OpaquePointer, answerWithin left: Duration, unit: UInt8, timeout: Duration) throws(ModbusError) {
        _ = try callOrErrno(unit: unit, timeout: timeout) { modbus_set_byte_timeout(handle, 0, 0) }
        let (seconds, microseconds) = Self.secondsAndMicroseconds(left)
        _ = try callOrErrno(unit: unit, timeout: timeout) {
            modbus_set_response_timeout(handle, seconds, microseconds)
        }
    }

    /// Opens the serial device or TCP connection, and applies the RS-485 mode.
    private func connect(_ handle: OpaquePointer, timeout: Duration) throws(ModbusError) {
        // libmodbus uses the response timeout as the TCP connect timeout.
        let (seconds, microseconds) = Self.secondsAndMicroseconds(timeout)
        _ = modbus_set_response_timeout(handle, seconds, microseconds)
        modbus_close(handle)
        _ = try callOrErrno(unit: nil, timeout: timeout, connecting: true) { modbus_connect(handle) }
        connected = true
        if case .rtu(let rtu) = configuration.transport, rtu.rs485 != .off {
            do {
                _ = try callOrErrno(unit: nil, timeout: timeout) {
                    modbus_rtu_set_serial_mode(handle, MODBUS_RTU_RS485)
                }
            } catch {
                let unsupported = ModbusError(.rs485Unsupported, bus: description, errno: error.errno,
                                              detail: error.errno.map(Self.osMessage))
                if rtu.rs485 == .required {
                    modbus_close(handle)
                    connected = false
                    throw unsupported
                }
                let warning = ModbusBusWarning(
                    code: unsupported.code,
                    description: "\(description) cannot be switched to RS-485 mode (\(unsupported.detail ?? "unsupported")); continuing in RS-232 mode — the adapter must switch direction itself."
                )
                let isNew = reportedWarnings.withLock { warnings in
                    guard !warnings.contains(warning) else { return false }
                    warnings.append(warning)
                    return true
                }
                if isNew { onWarning(warning) }
            }
        }
    }

    static func secondsAndMicroseconds(_ duration: Duration) -> (UInt32, UInt32) {
        let (seconds, attoseconds) = duration.components
        let clampedSeconds = UInt32(clamping: max(0, seconds))
        var micro = UInt32(clamping: max(0, attoseconds / 1_000_000_000_000))
        if clampedSeconds == 0 && micro == 0 { micro = 1 }  // libmodbus refuses 0 s 0 µs
        return (clampedSeconds, micro)
    }

    // MARK: errno (STYLE.md rule 4: the one place errno is read and mapped)

    /// Calls a libmodbus function returning an int; on -1 turns errno into a `ModbusError`.
    private func callOrErrno(
        unit: UInt8?, timeout: Duration, connecting: Bool = false, _ call: () -> Int32
    ) throws(ModbusError) -> Int32 {
        errno = 0
        let result = call()
        guard result < 0 else { return result }
        throw Self.mapErrno(errno, bus: description, unit: unit, timeout: timeout, connecting: connecting)
    }

    /// Calls a libmodbus constructor; on NULL turns errno into a `ModbusError`.
    private static func pointerOrErrno(bus: String, _ call: () -> OpaquePointer?) throws(ModbusError) -> OpaquePointer {
        errno = 0
        guard let pointer = call() else {
            throw mapErrno(errno, bus: bus, unit: nil, timeout: nil, connecting: true)
        }
        return pointer
    }

    /// Maps an errno value set by libmodbus (or the OS under it) to a `ModbusError`.
    static func mapErrno(_ code: Int32, bus: String, unit: UInt8?, timeout: Duration?, connecting: Bool) -> ModbusError {
        func error(_ kind: ModbusError.Kind, detail: String? = nil) -> ModbusError {
            ModbusError(kind, bus: bus, unit: unit, timeout: kind == .timeout ? timeout : nil, errno: code, detail: detail)
        }
        let exceptions: [(Int32, ModbusException)] = [
            (cmodbus_embxilfun(), .illegalFunction), (cmodbus_embxiladd(), .illegalDataAddress),
            (cmodbus_embxilval(), .illegalDataValue), (cmodbus_embxsfail(), .serverDeviceFailure),
            (cmodbus_embxack(), .acknowledge), (cmodbus_embxsbusy(), .serverDeviceBusy),
            (cmodbus_embxnack(), .negativeAcknowledge), (cmodbus_embxmempar(), .memoryParityError),
            (cmodbus_embxgpath(), .gatewayPathUnavailable), (cmodbus_embxgtar(), .gatewayTargetFailedToRespond),
        ]
        if let exception = exceptions.first(where: { $0.0 == code })?.1 {
            return error(.exception(exception))
        }
        switch code {
        case cmodbus_embbadcrc():
            return error(.badCRC)
        case cmodbus_embbaddata():
            return error(.invalidResponse, detail: "wrong function, transaction id, byte count or length")
        case cmodbus_embbadexc(), cmodbus_embunkexc():
            return error(.invalidResponse, detail: "a malformed exception answer or an unknown exception code")
        case cmodbus_embmdata():
            return error(.invalidResponse, detail: "more data than the request asked for")
        case cmodbus_embbadslave():
            return error(.invalidResponse, detail: "the answer came from another unit id")
        case ETIMEDOUT where connecting:
            return error(.unreachable, detail: "no answer to the connection attempt")
        case ETIMEDOUT:
            return error(.timeout)
        case ENOENT, ENODEV, ENXIO:
            return error(.deviceNotFound, detail: osMessage(code))
        case EACCES, EPERM:
            return error(.permissionDenied, detail: osMessage(code))
        case ECONNREFUSED:
            return error(.connectionRefused)
        case EHOSTUNREACH, ENETUNREACH, EHOSTDOWN, ENETDOWN:
            return error(.unreachable, detail: osMessage(code))
        case ECONNRESET, EPIPE, ENOTCONN, EBADF, ECONNABORTED:
            return error(.connectionLost, detail: osMessage(code))
        case EINVAL:
            return error(.invalidArgument, detail: "libmodbus refused the request or setting")
        default:
            return error(.io, detail: code == 0 ? "unknown error" : osMessage(code))
        }
    }

    /// The C library's text for an errno value.
    static func osMessage(_ code: Int32) -> String {
        guard let text = strerror(code) else { return "errno \(code)" }
        return "\(String(cString: text)), errno \(code)"
    }
}
