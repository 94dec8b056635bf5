// spool-torture: the child process of the kill -9 test (Tests/TelemetryTests/SpoolKillTests.swift).
//
// Usage: spool-torture PATH
// Opens the spool at PATH and appends readings as fast as it can, forever: each round enqueues
// a burst of readings and then appends one more, waiting until it is durable. After each durable
// append it prints that reading's sequence number on its own line: every sequence up to the
// printed one is committed. Reading values equal their expected sequence numbers, so the test
// can check order. The test kills it with SIGKILL at a random moment.
import Glibc
import Telemetry
import Clocks

/// Writes `text` to file descriptor `fd` with one write(2), unbuffered.
func writeUnbuffered(_ text: String, to fd: Int32) {
    var text = text
    text.withUTF8 { _ = write(fd, $0.baseAddress, $0.count) }
}

guard CommandLine.arguments.count == 2 else {
    writeUnbuffered("usage: spool-torture PATH\n", to: STDERR_FILENO)
    exit(2)
}
var configuration = SpoolConfiguration(path: CommandLine.arguments[1], maxSizeMegabytes: 512)
configuration.commitWindow = .milliseconds(2)
let spool = try await Spool.open(configuration)
var next = try await spool.statistics().highestSequence + 1
let channel = try ChannelName("torture/counter")
let time = SystemTimeSource()

await withTaskGroup(of: Void.self) { group in
    group.addTask { await spool.run() }
    do {
        while true {
            let burst = Int.random(in: 0...300)
            for _ in 0..<burst {
                try spool.enqueue(Reading(channel: channel, value: .number(Double(next)), unit: .count, time: time.now()))
                next += 1
            }
            let sequence = try await spool.append(
                Reading(channel: channel, value: .number(Double(next)), unit: .count, time: time.now()))
            next += 1
            // One write(2) per line, unbuffered: a printed line was really reported before a kill.
            writeUnbuffered("\(sequence)\n", to: STDOUT_FILENO)
        }
    } catch {
        writeUnbuffered("spool-torture: \(error)\n", to: STDERR_FILENO)
        exit(1)
    }
}
