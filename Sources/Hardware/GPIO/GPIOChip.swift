internal import CGPIOD
import Dispatch
import FoundationEssentials
import Glibc

/// A GPIO chip opened through libgpiod v1.6 (`/dev/gpiochipN`).
///
/// Open it with `GPIOChip.open(_:)` by name (`gpiochip0`), path
/// (`/dev/gpiochip0`), number (`0`) or label (`pinctrl-bcm2835`). The chip
/// stays open while it or any line requested from it is alive.
///
/// libgpiod v1 is not thread-safe, so every call on the handle runs on this
/// chip's own serial queue, never on Swift's cooperative pool.
public final class GPIOChip: GPIOController, @unchecked Sendable {
    // @unchecked Sendable: `handle` is only used on `queue` (serial), and the
    // other stored properties are immutable values.

    /// Kernel name, e.g. `gpiochip0`.
    public let name: String
    /// Driver label, e.g. `pinctrl-bcm2835`.
    public let label: String
    /// Number of lines; valid offsets are `0..<lineCount`.
    public let lineCount: Int

    private let handle: OpaquePointer
    /// Serial queue that owns `handle`.
    let queue: DispatchQueue

    private init(handle: OpaquePointer, queue: DispatchQueue) {
        self.handle = handle
        self.queue = queue
        self.name = String(cString: gpiod_chip_name(handle))
        self.label = String(cString: gpiod_chip_label(handle))
        self.lineCount = Int(gpiod_chip_num_lines(handle))
    }

    deinit {
        // Last reference: no request or queued call can still use the handle
        // (each holds a strong reference to the chip).
        gpiod_chip_close(handle)
    }

    /// Opens a chip by name, `/dev` path, number or label
    /// (`gpiod_chip_open_lookup` tries the label first, then the number, name or path).
    ///
    /// - Throws: `GPIOError.noChips` when the machine has no chip at all,
    ///   `.chipNotFound` (listing the chips that exist), `.permissionDenied`.
    public static func open(_ descriptor: String, devDirectory: String = "/dev") async throws -> GPIOChip {
        let queue = DispatchQueue(label: "lampd.gpio.\(descriptor)")
        return try await queue.perform { () throws -> GPIOChip in
            switch GPIOD.pointer({ gpiod_chip_open_lookup(descriptor) }) {
            case .success(let handle):
                return GPIOChip(handle: handle, queue: queue)
            case .failure(let error) where [ENODEV, ENOTTY].contains(error.value) && isExistingPath(descriptor):
                throw GPIOError.notAGPIOChip(path: descriptor, available: availableChipNames(devDirectory: devDirectory))
            case .failure(let error) where [ENOENT, ENODEV, ENOTTY].contains(error.value):
                let available = availableChipNames(devDirectory: devDirectory)
                if available.isEmpty { throw GPIOError.noChips(requested: descriptor) }
                throw GPIOError.chipNotFound(requested: descriptor, available: available)
            case .failure(let error):
                throw GPIOError(errno: error.value, operation: "open GPIO chip", chip: descriptor)
            }
        }
    }

    /// Whether the technician typed a path (not a name, number or label) to a file that exists.
    private static func isExistingPath(_ descriptor: String) -> Bool {
        descriptor.contains("/") && FileManager.default.fileExists(atPath: descriptor)
    }

    /// Names of the GPIO chip devices in `/dev`, in number order (`gpiochip2` before `gpiochip10`).
    public static func availableChipNames(devDirectory: String = "/dev") -> [String] {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: devDirectory)) ?? []
        return entries
            .filter { $0.hasPrefix("gpiochip") }
            .sorted { (Int($0.dropFirst(8)) ?? .max, $0) < (Int($1.dropFirst(8)) ?? .max, $1) }
    }

    /// Every chip on the machine with its lines, for `lampctl gpio list`.
    ///
    /// - Throws: `GPIOError.noChips` when there is none; the first error
    ///   opening a chip (e.g. `.permissionDenied`).
    public static func allChips(devDirectory: String = "/dev") async throws -> [GPIOChipInfo] {
        let names = availableChipNames(devDirectory: devDirectory)
        if names.isEmpty { throw GPIOError.noChips(requested: nil) }
        var chips: [GPIOChipInfo] = []
        for name in names {
            chips.append(try await open("\(devDirectory)/\(name)", devDirectory: devDirectory).info())
        }
        return chips
    }

    // MARK: Lines

    public func info() async throws -> GPIOChipInfo {
        try await queue.perform { () throws -> GPIOChipInfo in
            var lines: [GPIOLineInfo] = []
            for offset in 0..<UInt32(self.lineCount) {
                lines.append(try self.lineInfoOnQueue(self.lineHandle(.offset(offset))))
            }
            return GPIOChipInfo(name: self.name, label: self.label, lineCount: self.lineCount, lines: lines)
        }
    }

    public func lineInfo(_ line: GPIOLineSelector) async throws -> GPIOLineInfo {
        try await queue.perform { () throws -> GPIOLineInfo in
            try self.lineInfoOnQueue(self.lineHandle(line))
        }
    }

    public func requestInput(
        _ line: GPIOLineSelector, activeLow: Bool, bias: LineBias, consumer: String
    ) async throws -> GPIOInputLine {
        GPIOInputLine(try await request(line, as: .input, activeLow: activeLow, bias: bias, consumer: consumer))
    }

    public func requestOutput(
        _ line: GPIOLineSelector, initialValue: Bool, activeLow: Bool, bias: LineBias, consumer: String
    ) async throws -> GPIOOutputLine {
        GPIOOutputLine(
            try await request(
                line, as: .output(initialValue: initialValue), activeLow: activeLow, bias: bias, consumer: consumer))
    }

    public func requestAsIs(
        _ line: GPIOLineSelector, activeLow: Bool, consumer: String
    ) async throws -> GPIOInputLine {
        GPIOInputLine(try await request(line, as: .asIs, activeLow: activeLow, bias: .asIs, consumer: consumer))
    }

    public func requestEdgeEvents(
        _ line: GPIOLineSelector, activeLow: Bool, bias: LineBias, consumer: String
    ) async throws -> GPIOEdgeLine {
        GPIOEdgeLine(try await request(line, as: .bothEdges, activeLow: activeLow, bias: bias, consumer: consumer))
    }

    /// How a line is requested.
    enum RequestKind: Sendable {
        case input
        case output(initialValue: Bool)
        case bothEdges
        /// Neither direction nor value is touched (GPIOD_LINE_REQUEST_DIRECTION_AS_IS).
        case asIs
    }

    private func request(
        _ selector: GPIOLineSelector, as kind: RequestKind, activeLow: Bool, bias: LineBias, consumer: String
    ) async throws -> GPIOLineRequest {
        try await queue.perform { () throws -> GPIOLineRequest in
            let line = try self.lineHandle(selector)
            let offset = gpiod_line_offset(line)
            let name = gpiod_line_name(line).map { String(cString: $0) }
            let description = gpioLineDescription(chip: self.name, offset: offset, name: name)
            let flags = Self.requestFlags(activeLow: activeLow, bias: bias)
            let result = GPIOD.call {
                switch kind {
                case .input:
                    gpiod_line_request_input_flags(line, consumer, flags)
                case .output(let initialValue):
                    gpiod_line_request_output_flags(line, consumer, flags, initialValue ? 1 : 0)
                case .bothEdges:
                    gpiod_line_request_both_edges_events_flags(line, consumer, flags)
                case .asIs:
                    consumer.withCString { name in
                        var config = gpiod_line_request_config(
                            consumer: name, request_type: Int32(GPIOD_LINE_REQUEST_DIRECTION_AS_IS), flags: flags)
                        return gpiod_line_request(line, &config, 0)
                    }
                }
            }
            if case .failure(let error) = result, case .bothEdges = kind, error.value == ENODEV {
                throw GPIOError.edgesNotSupported(chip: self.name, line: description, errno: error.value)
            }
            if case .failure(let error) = result {
                throw GPIOError(
                    errno: error.value, operation: "request line", chip: self.name, line: description,
                    bias: bias, consumer: self.consumerOnQueue(line))
            }
            return GPIOLineRequest(
                chip: self, line: GPIOHandle(pointer: line), offset: offset, name: name, description: description)
        }
    }

    /// Flags for `gpiod_line_request_*_flags`; bias as-is sets none (works on every kernel).
    private static func requestFlags(activeLow: Bool, bias: LineBias) -> Int32 {
        var flags: Int32 = 0
        if activeLow { flags |= Int32(GPIOD_LINE_REQUEST_FLAG_ACTIVE_LOW) }
        switch bias {
        case .asIs: break
        case .disabled: flags |= Int32(GPIOD_LINE_REQUEST_FLAG_BIAS_DISABLE)
        case .pullUp: flags |= Int32(GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_UP)
        case .pullDown: flags |= Int32(GPIOD_LINE_REQUEST_FLAG_BIAS_PULL_DOWN)
        }
        return flags
    }

    // MARK: On the queue only

    /// Finds a line by offset or name. Call on `queue`.
    private func lineHandle(_ selector: GPIOLineSelector) throws(GPIOError) -> OpaquePointer {
        switch selector {
        case .offset(let offset):
            guard offset < lineCount else {
                throw GPIOError.offsetOutOfRange(chip: name, offset: offset, lineCount: lineCount)
            }
            switch GPIOD.pointer({ gpiod_chip_get_line(handle, offset) }) {
            case .success(let line): return line
            case .failure(let error):
                throw GPIOError(
                    errno: error.value, operation: "read line info", chip: name,
                    line: gpioLineDescription(chip: name, offset: offset, name: nil))
            }
        case .name(let lineName):
            switch GPIOD.pointer({ gpiod_chip_find_line(handle, lineName) }) {
            case .success(let line): return line
            case .failure(let error) where error.value == ENOENT:
                throw GPIOError.lineNameNotFound(chip: name, name: lineName, knownNames: knownLineNames())
            case .failure(let error):
                throw GPIOError(errno: error.value, operation: "find line '\(lineName)'", chip: name)
            }
        }
    }

    /// Names of all named lines, for "no line named …" messages. Call on `queue`.
    private func knownLineNames() -> [String] {
        (0..<UInt32(lineCount)).compactMap { offset in
            gpiod_chip_get_line(handle, offset).flatMap { gpiod_line_name($0) }.map { String(cString: $0) }
        }
    }

    /// Who holds a line, re-read from the kernel (after `EBUSY`). Call on `queue`.
    private func consumerOnQueue(_ line: OpaquePointer) -> String? {
        _ = GPIOD.call { gpiod_line_update(line) }
        return gpiod_line_consumer(line).map { String(cString: $0) }
    }

    /// Reads a line's info, fresh from the kernel. Call on `queue`.
    private func lineInfoOnQueue(_ line: OpaquePointer) throws(GPIOError) -> GPIOLineInfo {
        let offset = gpiod_line_offset(line)
        let name = gpiod_line_name(line).map { String(cString: $0) }
        if case .failure(let error) = GPIOD.call({ gpiod_line_update(line) }) {
            throw GPIOError(
                errno: error.value, operation: "read line info", chip: self.name,
                line: gpioLineDescription(chip: self.name, offset: offset, name: name))
        }
        let bias: LineBias =
            switch Int(gpiod_line_bias(line)) {
            case Int(GPIOD_LINE_BIAS_DISABLE): .disabled
            case Int(GPIOD_LINE_BIAS_PULL_UP): .pullUp
            case Int(GPIOD_LINE_BIAS_PULL_DOWN): .pullDown
            default: .asIs
            }
        return GPIOLineInfo(
            offset: offset,
            name: name,
            direction: Int(gpiod_line_direction(line)) == Int(GPIOD_LINE_DIRECTION_OUTPUT) ? .output : .input,
            activeLow: Int(gpiod_line_active_state(line)) == Int(GPIOD_LINE_ACTIVE_STATE_LOW),
            bias: bias,
            used: gpiod_line_is_used(line),
            consumer: gpiod_line_consumer(line).map { String(cString: $0) }
        )
    }
}
