// downlink-torture: the child process of the desired state's kill -9 test
// (Tests/AgentTests/DesiredStateKillTests.swift).
//
// Usage: downlink-torture STATE_DIR KEYS_DIR SCHEDULER_SEED_HEX
// Restores the applied documents from STATE_DIR (as lampd does at start), then applies scheduler
// documents for device `p` with versions applied+1, applied+2, … as fast as it can, forever,
// signing each with the given seed. After each apply returns it prints the version on its own
// line: that version is stored durably. The test kills it with SIGKILL at a random moment and
// checks that the stored document is the last reported one or the next, whole.
import Agent
import ControlProtocol
import Downlink
import FoundationEssentials
import Glibc
import LampdConfig
import Lighting
import Logging
import Telemetry
import Uplink
import Clocks

/// Writes `text` to file descriptor `fd` with one write(2), unbuffered.
func writeUnbuffered(_ text: String, to fd: Int32) {
    var text = text
    text.withUTF8 { _ = write(fd, $0.baseAddress, $0.count) }
}

/// Records nothing: the child's events do not matter.
struct DiscardingSink: TelemetrySink {
    func record(_ reading: Reading) {}
    func record(_ event: Event) {}
}

/// The system's wall clock, taken as synchronised (the test judges storage, not time).
struct SynchronisedClock: TimeSource {
    func now() -> Timestamp {
        var stamp = SystemTimeSource().now()
        stamp.isClockSynchronised = true
        return stamp
    }
}

let arguments = CommandLine.arguments
guard arguments.count == 4, let seed = [UInt8](hexString: arguments[3]), let key = try? DeviceKey(seed: seed) else {
    writeUnbuffered("usage: downlink-torture STATE_DIR KEYS_DIR SCHEDULER_SEED_HEX\n", to: STDERR_FILENO)
    exit(2)
}
let applier = DesiredStateApplier(deviceID: "p", configuration: DownlinkConfiguration(keysDirectory: arguments[2]),
                                  stateDirectory: arguments[1], lighting: nil, sink: DiscardingSink(),
                                  timeSource: SynchronisedClock(), logger: Logger(label: "downlink-torture"))
await applier.restore()
var version = await applier.status().applied.first?.version ?? 0
let signer = DesiredStateSigner(key: key)
// Sixteen programs: a document of a few kilobytes, so a write takes a while.
let programs = (0..<16).map { index in
    ControlProgram(id: "program-\(index)", switchPoints: (0..<12).map { hour in
        SwitchPoint(at: SwitchTime((hour < 5 ? "0" : "") + "\(hour * 2):00")!, levelPercent: (index + hour) % 101)
    })
}
let schedule = try Schedule(calendar: LightingCalendar(id: "city", rules: [], defaultProgram: "program-0"), programs: programs)
while true {
    version += 1
    let now = Int64(SynchronisedClock().now().utcNanoseconds / 1_000_000_000)
    let document = signer.sign(DesiredState(deviceID: "p", version: version, issuedAtSeconds: now - 60, expiresAtSeconds: now + 86_400,
                                            schedule: schedule))
    do {
        try await applier.apply(document, via: "downlink-torture")
    } catch {
        writeUnbuffered("refused: \(error)\n", to: STDERR_FILENO)
        exit(1)
    }
    writeUnbuffered("\(version)\n", to: STDOUT_FILENO)
}
