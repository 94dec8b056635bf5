// spool-torture: the child process of the kill -9 test (Tests/TelemetryTests/SpoolKillTests.swift).
//
// Usage: spool-torture PATH          (the kill -9 cycles)
//        spool-torture PATH event    (durability by class)
// Opens the spool at PATH and appends readings as fast as it can, forever: each round enqueues
// a burst of readings and then appends one more, waiting until it is durable. After each durable
// append it prints that reading's sequence number on its own line: every sequence up to the
// printed one is committed. Reading values equal their expected sequence numbers, so the test
// can check order. The test kills it with SIGKILL at a random moment.
//
// `event` mode: opens the spool with a 60 s telemetry commit window, enqueues 10 readings and then
// one alarm event (`door.opened`) without waiting, prints `recorded`, and then watches (without
// forcing anything) for the commit: it prints `committed` once the spool reports the event's group
// durable, or `not committed` if it is not within 10 s (well before the window would commit it).
// Then it sleeps until the test kills it with SIGKILL.
import Glibc
import Telemetry
import Clocks

/// Writes `text` to file descriptor `fd` with one write(2), unbuffered.
func writeUnbuffered(_ text: String, to fd: Int32) {
    var text = text
    text.withUTF8 { _ = write(fd, $0.baseAddress, $0.count) }
}

let eventMode = CommandLine.arguments.count == 3 && CommandLine.arguments[2] == "event"
guard CommandLine.arguments.count == 2 || eventMode else {
    writeUnbuffered("usage: spool-torture PATH [event]\n", to: STDERR_FILENO)
    exit(2)
}
var configuration = SpoolConfiguration(path: CommandLine.arguments[1], maxSizeMegabytes: 512)
configuration.commitWindow = eventMode ? .seconds(60) : .milliseconds(2)
let spool = try await Spool.open(configuration)
var next = try await spool.statistics().highestSequence + 1
let channel = try ChannelName("torture/counter")
let time = SystemTimeSource()

if eventMode {
    _ = Task { await spool.run() }
    for _ in 0..<10 {
        try spool.enqueue(Reading(channel: channel, value: .number(Double(next)), unit: .count, time: time.now()))
        next += 1
    }
    try spool.enqueue(Event(kind: "door.opened", severity: .alarm, time: time.now(), message: "cabinet door opened"))
    writeUnbuffered("recorded\n", to: STDOUT_FILENO)
    let clock = ContinuousClock()
    let started = clock.now
    // A child process, not a test: polling the counter here forces nothing (flush would).
    while spool.highestCommittedSequence < next, clock.now - started < .seconds(10) {
        try await Task.sleep(for: .milliseconds(1))
    }
    writeUnbuffered(spool.highestCommittedSequence >= next ? "committed\n" : "not committed\n", to: STDOUT_FILENO)
    while true { try await Task.sleep(for: .seconds(3600)) }
}

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
