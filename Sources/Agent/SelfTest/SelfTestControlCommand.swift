import ControlProtocol
extension ControlCommandRegistry {
    /// Adds `selftest` (read): the checks only the running lampd can make.
    public mutating func registerSelfTest(_ selfTest: DaemonSelfTest) {
        register(SelfTestControlCommand(selfTest: selfTest))
    }
}

/// `selftest`: `{"checks":[{"name","outcome","detail"}…]}`, see `DaemonSelfTest`.
struct SelfTestControlCommand: ControlHandler {
    let selfTest: DaemonSelfTest
    var command: String { "selftest" }
    var permission: ControlPermission { .read }
    var summary: String { "GPIO lines, lamp output, Modbus units, meter, clock, loops and watchdogs: pass, fail or skip each" }

    func handle(_ call: ControlCall) async throws -> JSONValue {
        try JSONValue(encoding: SelfTestResult(checks: await selfTest.run()))
    }
}
