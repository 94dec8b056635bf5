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
/// Open it with `ModbusBus.open(_:)`. Every libmodbus call for the bus runs
/// on one dedicated serial dispatch queue, never on Swift's cooperative
/// pool: requests are served one at a time in arrival order (RS-485 is
/// half-duplex), and a unit that does not answer costs exactly one response
/// timeout per request, after which the next request — to any unit — goes out
/// on a flushed line.
///
/// TCP connects on the first request and reconnects on the next request
/// after the connection broke. All errors are `ModbusError`.
public final class ModbusBus: ModbusClient, @unchecked Sendable {
    // @unchecked Sendable: `handle` and `connected` are only touched on
    // `queue` (a serial queue; `lanes` is behind its own lock), which is what makes the non-thread-safe
    // libmodbus context safe to share; `warnings` is written once inside
    // `open` before the bus is handed out, and only read afterwards.

    /// The libmodbus context; freed in `deinit`.
    private let handle: OpaquePointer
    private let queue: DispatchQueue
    private var connected = false
    /// Requests waiting for the bus; the queue runs one per block it is given.
    private let lanes = Mutex(ModbusRequestLanes())

    /// Where and how this bus talks.
    public let configuration: ModbusBusConfiguration
    /// Things the caller should log, e.g. RS-485 mode requested as
    /// `ifSupported` but not available on this port.
    public private(set) var warnings: [ModbusBusWarning] = []

    public var description: String { configuration.transport.description }

    private init(handle: OpaquePointer, configuration: ModbusBusConfiguration, queue: DispatchQueue) {
        self.handle = handle
        self.configuration = configuration
        self.queue = queue
    }

    deinit {
        modbus_close(handle)
        modbus_free(handle)
    }

    /// Opens a bus. An RTU line opens its serial device now (and applies the
    /// RS-485 mode); a TCP bus connects on its first request.
    ///
    /// - Throws: `ModbusError` — `.deviceNotFound`, `.permissionDenied`,
    ///   `.rs485Unsupported` (mode `required` on a port without RS-485),
    ///   `.invalidArgument` (baud, data bits, stop bits, timeout, port).
    public static func open(_ configuration: ModbusBusConfiguration) async throws -> ModbusBus {
        let bus = configuration.transport.description
        try validate(configuration)
        let queue = DispatchQueue(label: "lampd.modbus \(bus)")
        return try await withCheckedThrowingContinuation { continuation in
            queue.async {
                continuation.resume(with: Result { () throws(ModbusError) -> ModbusBus in
                    let handle: OpaquePointer
                    switch configuration.transport {
                    case .rtu(let rtu):
                        handle = try pointerOrErrno(bus: bus) {
                            modbus_new_rtu(rtu.device, Int32(rtu.baudRate), rtu.parity.letter,
                                           Int32(rtu.dataBits), Int32(rtu.stopBits))
                        }
                    case .tcp(let host, let port):
                        handle = try pointerOrErrno(bus: bus) { modbus_new_tcp_pi(host, String(port)) }
                    }
                    let modbusBus = ModbusBus(handle: handle, configuration: configuration, queue: queue)
                    if case .rtu = configuration.transport {
                        try modbusBus.connect(timeout: configuration.timeout)
                    }
                    return modbusBus
                })
            }
        }
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

    public func readCoils(unit: UInt8, address: UInt16, count: Int, timeout: Duration?) async throws -> [Bool] {
        try ModbusRequestLimits.check(bus: description, unit: unit, address: address, count: count,
                                      max: ModbusRequestLimits.maxReadBits, what: "coils")
        return try await request(unit: unit, timeout: timeout) { (handle, timeout) throws(ModbusError) in
            var bits = [UInt8](repeating: 0, count: count)
            _ = try self.callOrErrno(unit: unit, timeout: timeout) {
                bits.withUnsafeMutableBufferPointer { buffer in modbus_read_bits(handle, Int32(address), Int32(count), buffer.baseAddress) }
            }
            return bits.map { $0 != 0 }
        }
    }

    public func readDiscreteInputs(unit: UInt8, address: UInt16, count: Int, timeout: Duration?) async throws -> [Bool] {
        try ModbusRequestLimits.check(bus: description, unit: unit, address: address, count: count,
                                      max: ModbusRequestLimits.maxReadBits, what: "discrete inputs")
        return try await request(unit: unit, timeout: timeout) { (handle, timeout) throws(ModbusError) in
            var bits = [UInt8](repeating: 0, count: count)
            _ = try self.callOrErrno(unit: unit, timeout: timeout) {
                bits.withUnsafeMutableBufferPointer { buffer in modbus_read_input_bits(handle, Int32(address), Int32(count), buffer.baseAddress) }
            }
            return bits.map { $0 != 0 }
        }
    }

    public func readHoldingRegisters(unit: UInt8, address: UInt16, count: Int, timeout: Duration?) async throws -> [UInt16] {
        try ModbusRequestLimits.check(bus: description, unit: unit, address: address, count: count,
                                      max: ModbusRequestLimits.maxReadRegisters, what: "registers")
        return try await request(unit: unit, timeout: timeout) { (handle, timeout) throws(ModbusError) in
            var registers = [UInt16](repeating: 0, count: count)
            _ = try self.callOrErrno(unit: unit, timeout: timeout) {
                registers.withUnsafeMutableBufferPointer { buffer in modbus_read_registers(handle, Int32(address), Int32(count), buffer.baseAddress) }
            }
            return registers
        }
    }

    public func readInputRegisters(unit: UInt8, address: UInt16, count: Int, timeout: Duration?) async throws -> [UInt16] {
        try ModbusRequestLimits.check(bus: description, unit: unit, address: address, count: count,
                                      max: ModbusRequestLimits.maxReadRegisters, what: "registers")
        return try await request(unit: unit, timeout: timeout) { (handle, timeout) throws(ModbusError) in
            var registers = [UInt16](repeating: 0, count: count)
            _ = try self.callOrErrno(unit: unit, timeout: timeout) {
                registers.withUnsafeMutableBufferPointer { buffer in modbus_read_input_registers(handle, Int32(address), Int32(count), buffer.baseAddress) }
            }
            return registers
        }
    }

    public func writeCoil(unit: UInt8, address: UInt16, value: Bool, timeout: Duration?) async throws {
        try ModbusRequestLimits.check(bus: description, unit: unit, address: address, count: 1, max: 1, what: "coil")
        try await request(unit: unit, timeout: timeout, urgent: true) { (handle, timeout) throws(ModbusError) in
            _ = try self.callOrErrno(unit: unit, timeout: timeout) {
                modbus_write_bit(handle, Int32(address), value ? 1 : 0)
            }
        }
    }

    public func writeCoils(unit: UInt8, address: UInt16, values: [Bool], timeout: Duration?) async throws {
        try ModbusRequestLimits.check(bus: description, unit: unit, address: address, count: values.count,
                                      max: ModbusRequestLimits.maxWriteBits, what: "coils")
        let bits = values.map { UInt8($0 ? 1 : 0) }
        try await request(unit: unit, timeout: timeout, urgent: true) { (handle, timeout) throws(ModbusError) in
            _ = try self.callOrErrno(unit: unit, timeout: timeout) {
                bits.withUnsafeBufferPointer { buffer in modbus_write_bits(handle, Int32(address), Int32(bits.count), buffer.baseAddress) }
            }
        }
    }

    public func writeRegister(unit: UInt8, address: UInt16, value: UInt16, timeout: Duration?) async throws {
        try ModbusRequestLimits.check(bus: description, unit: unit, address: address, count: 1, max: 1, what: "register")
        try await request(unit: unit, timeout: timeout, urgent: true) { (handle, timeout) throws(ModbusError) in
            _ = try self.callOrErrno(unit: unit, timeout: timeout) {
                modbus_write_register(handle, Int32(address), value)
            }
        }
    }

    public func writeRegisters(unit: UInt8, address: UInt16, values: [UInt16], timeout: Duration?) async throws {
        try ModbusRequestLimits.check(bus: description, unit: unit, address: address, count: values.count,
                                      max: ModbusRequestLimits.maxWriteRegisters, what: "registers")
        try await request(unit: unit, timeout: timeout, urgent: true) { (handle, timeout) throws(ModbusError) in
            _ = try self.callOrErrno(unit: unit, timeout: timeout) {
                values.withUnsafeBufferPointer { buffer in modbus_write_registers(handle, Int32(address), Int32(values.count), buffer.baseAddress) }
            }
        }
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
        if !connected {
            try connect(timeout: timeout)
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
    private func connect(timeout: Duration) throws(ModbusError) {
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
                if !warnings.contains(warning) { warnings.append(warning) }
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
