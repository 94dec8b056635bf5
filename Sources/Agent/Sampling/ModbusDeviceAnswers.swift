import Synchronization

/// Whether each Modbus device answered its latest poll, for `lampctl selftest`:
/// the daemon holds the buses, so the self-test asks it instead of probing.
///
/// `ModbusDevicePoller` writes after every poll; any thread may read.
public final class ModbusDeviceAnswers: Sendable {
    /// One device's latest poll.
    public struct Entry: Sendable, Hashable {
        /// Whether the latest poll got an answer.
        public var answered: Bool
        /// Wall-clock time of the latest poll, seconds since 1970.
        public var polledAtSeconds: Double
        /// Why the latest poll failed (nil when it answered).
        public var failure: String?
        /// The failure's stable code (`modbus.timeout`, `modbus.bad-crc`…), when known:
        /// tells "did not answer" from "answered wrongly" (`ModbusError.verdict(code:)`).
        public var failureCode: String?
        /// Modbus requests the latest poll sent (block reads: 2 for 40 registers of two tables); nil when not counted.
        public var requests: Int? = nil
    }

    private let entries = Mutex<[String: Entry]>([:])

    public init() {}

    /// Records the outcome of a poll of `device` (its configured name).
    public func record(_ device: String, answered: Bool, atSeconds: Double, failure: String? = nil, failureCode: String? = nil, requests: Int? = nil) {
        entries.withLock {
            $0[device] = Entry(answered: answered, polledAtSeconds: atSeconds, failure: failure, failureCode: failureCode, requests: requests)
        }
    }

    /// The latest poll of `device`; nil before its first.
    public func entry(_ device: String) -> Entry? { entries.withLock { $0[device] } }
}
