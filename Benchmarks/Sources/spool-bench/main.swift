// spool-bench: throughput and flash wear of the Telemetry spool. Plain executable measuring with
// ContinuousClock and /proc/self/io (write_bytes). See docs/performance.md, section "Spool".
//
//   spool-bench throughput [--readings N] [--dir DIR]
//   spool-bench wear [--seconds S] [--channels C] [--window-seconds W] [--page-size P] [--checkpoint-pages K] [--ack-every A] [--dir DIR]
//   spool-bench all
import Foundation
import Telemetry
import Clocks  // Timestamp (reached through Telemetry; Clocks is not a product of lampd)

struct Options {
    var values: [String: String] = [:]
    init(_ arguments: ArraySlice<String>) {
        var it = arguments.makeIterator()
        while let key = it.next() {
            if key.hasPrefix("--"), let value = it.next() { values[String(key.dropFirst(2))] = value }
        }
    }
    func int(_ key: String, _ fallback: Int) -> Int { values[key].flatMap(Int.init) ?? fallback }
    var dir: String { values["dir"] ?? NSTemporaryDirectory() }
}

func writeBytes() -> Int64 {
    let text = (try? String(contentsOfFile: "/proc/self/io", encoding: .utf8)) ?? ""
    for line in text.split(separator: "\n") where line.hasPrefix("write_bytes:") {
        return Int64(line.split(separator: " ").last!) ?? 0
    }
    return 0
}

func freshPath(_ dir: String) -> String {
    let path = (dir as NSString).appendingPathComponent("spool-bench-\(UUID().uuidString).sqlite")
    return path
}

func removeSpool(_ path: String) {
    for suffix in ["", "-wal", "-shm"] { try? FileManager.default.removeItem(atPath: path + suffix) }
}

let bootID = UUID()
func timestamp(second: Int64, index: Int) -> Timestamp {
    let offset: Int64 = second * 1_000_000_000 + Int64(index) * 1000
    let utc: Int64 = 1_750_000_000_000_000_000 + offset
    let boot: Int64 = 10_000_000_000 + offset
    return Timestamp(utcNanoseconds: utc, bootNanoseconds: boot, bootID: bootID, isClockSynchronised: true)
}

/// Durable readings per second with the default configuration:
/// one producer enqueues as fast as it can; the clock stops when the last group is durable.
func throughput(_ options: Options) async throws {
    let n = options.int("readings", 500_000)
    let path = freshPath(options.dir)
    defer { removeSpool(path) }
    let spool = try await Spool.open(SpoolConfiguration(path: path, maxSizeMegabytes: 1024))
    let channels = try (0..<40).map { try ChannelName("lamp/ch\($0)") }
    let loop = Task { await spool.run() }
    let bytesBefore = writeBytes()
    let start = ContinuousClock.now
    var i = 0
    while i < n {
        do {
            try spool.enqueue(Reading(channel: channels[i % 40], value: .number(Double(i)), unit: .watt,
                                      time: timestamp(second: Int64(i / 40), index: i % 40)))
            i += 1
        } catch {
            // spool.backlog-full: let the commit loop catch up.
            await Task.yield()
        }
    }
    let last = await spool.flush()
    let elapsed = ContinuousClock.now - start
    let bytes = writeBytes() - bytesBefore
    loop.cancel()
    await loop.value
    try spool.close()
    precondition(last == Int64(n), "expected \(n) durable, got \(last)")
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    let rate = Int(Double(n) / seconds)
    let perReading = Double(bytes) / Double(n)
    print("throughput: \(n) readings durable in \(seconds) s = \(rate) readings/s (default configuration: groups of \(spool.configuration.commitBatchRecords)); \(perReading) bytes written/reading")
}

/// Bytes written to storage per reading at C channels × 1 Hz. Simulated time: each simulated second enqueues
/// C readings; every W simulated seconds the spool commits (flush() = what the W-second window does at 1 Hz).
/// Optionally the uplink acknowledges everything every A simulated seconds (deletes are writes too).
func wear(_ options: Options) async throws {
    let seconds = options.int("seconds", 3600)
    let channelCount = options.int("channels", 40)
    let window = options.int("window-seconds", 1)
    let pageSize = options.int("page-size", 4096)
    let ackEvery = options.int("ack-every", 0)
    let path = freshPath(options.dir)
    defer { removeSpool(path) }
    var config = SpoolConfiguration(path: path, maxSizeMegabytes: 1024)
    config.pageSizeBytes = pageSize
    config.walAutocheckpointPages = options.int("checkpoint-pages", config.walAutocheckpointPages)
    let spool = try await Spool.open(config)
    let channels = try (0..<channelCount).map { try ChannelName("lamp/ch\($0)") }
    let loop = Task { await spool.run() }
    // Warm up one simulated minute so schema creation and the first WAL growth are not counted.
    var bytesBefore: Int64 = 0
    for second in Int64(0)..<Int64(60 + seconds) {
        if second == 60 { bytesBefore = writeBytes() }
        for (c, channel) in channels.enumerated() {
            try spool.enqueue(Reading(channel: channel, value: .number(230 + Double((Int(second) * 7 + c) % 100) / 10),
                                      unit: .volt, time: timestamp(second: second, index: c)))
        }
        if (second + 1) % Int64(window) == 0 { await spool.flush() }
        if ackEvery > 0 && (second + 1) % Int64(ackEvery) == 0 {
            let stats = try await spool.statistics()
            try await spool.acknowledge(throughSequence: stats.highestSequence)
        }
    }
    await spool.flush()
    let bytes = writeBytes() - bytesBefore
    let stats = try await spool.statistics()
    loop.cancel()
    await loop.value
    try spool.close()
    let readings = Double(seconds * channelCount)
    let perReading = Double(bytes) / readings
    let perCommit = Double(bytes) / Double(seconds / window)
    let ackText = ackEvery > 0 ? "\(ackEvery) s" : "never"
    print("wear: \(channelCount) channels x 1 Hz, \(seconds) simulated s, commit every \(window) s, page \(pageSize) B, checkpoint every \(config.walAutocheckpointPages) pages, ack every \(ackText): \(perReading) bytes written/reading (\(perCommit) bytes per commit), spool used \(stats.usedBytes) B")
}

/// `spool-bench count PATH`: what a stopped lampd's spool holds, as one JSON line — for benchmark scripts,
/// since readings are packed in the telemetry log and no longer countable with sqlite3. Opening the spool
/// is its normal recovery: never point it at the spool of a running lampd.
func count(_ path: String) async throws {
    let spool = try await Spool.open(SpoolConfiguration(path: path, maxSizeMegabytes: 1_048_576))
    defer { try? spool.close() }
    var readings = 0, bad = 0, unsynchronised = 0
    var channels = Set<String>()
    var events: [String: Int] = [:]
    var after: Int64 = 0
    while true {
        let page = try await spool.oldestPending(limit: 50_000, afterSequence: after)
        guard let last = page.last else { break }
        after = last.sequence
        for record in page {
            switch record.record {
            case .reading(let r):
                readings += 1
                channels.insert(r.channel.rawValue)
                if !r.quality.intersection([.uncertain, .bad]).isEmpty { bad += 1 }
                if r.quality.contains(.clockUnsynchronised) { unsynchronised += 1 }
            case .event(let e):
                events[e.kind, default: 0] += 1
            }
        }
    }
    let eventText = events.sorted { $0.key < $1.key }.map { "\"\($0.key)\": \($0.value)" }.joined(separator: ", ")
    print("{\"readings\": \(readings), \"channels\": \(channels.count), \"readings_uncertain_or_bad\": \(bad), "
        + "\"readings_clock_unsynchronised\": \(unsynchronised), \"events\": {\(eventText)}}")
}

/// `spool-bench drain PATH [--batch N]`: the spool's side of an uplink drain — read the oldest
/// `N` pending records (default 5 000, the uplink's batch), acknowledge them, until the spool is
/// empty; prints the time and records/s. Signing, HTTP and the receiver are not in it.
func drain(_ path: String, batch: Int) async throws {
    let spool = try await Spool.open(SpoolConfiguration(path: path, maxSizeMegabytes: 1_048_576))
    defer { try? spool.close() }
    let clock = ContinuousClock()
    let started = clock.now
    var records = 0, batches = 0
    while true {
        let page = try await spool.oldestPending(limit: batch)
        guard let last = page.last else { break }
        try await spool.acknowledge(throughSequence: last.sequence)
        records += page.count
        batches += 1
    }
    let seconds = (clock.now - started) / .seconds(1)
    print("drain: \(records) records in \(batches) batches of \(batch) read and acknowledged in \(seconds) s = "
        + "\(Int(Double(records) / seconds)) records/s")
}

let arguments = CommandLine.arguments
let options = Options(arguments.dropFirst(2))
switch arguments.count > 1 ? arguments[1] : "all" {
case "count" where arguments.count == 3: try await count(arguments[2])
case "drain" where arguments.count >= 3:
    try await drain(arguments[2], batch: Options(arguments.dropFirst(3)).int("batch", 5000))
case "throughput": try await throughput(options)
case "wear": try await wear(options)
case "all":
    try await throughput(options)
    for (window, page, ack) in [(1, 4096, 0), (1, 4096, 60), (1, 1024, 60), (5, 4096, 60), (10, 4096, 60)] {
        var o = options
        o.values["window-seconds"] = "\(window)"
        o.values["page-size"] = "\(page)"
        o.values["ack-every"] = "\(ack)"
        try await wear(o)
    }
default:
    print("""
        usage: spool-bench throughput [--readings N] [--dir DIR]
               spool-bench wear [--seconds S] [--channels C] [--window-seconds W] [--page-size P] [--checkpoint-pages K] [--ack-every A] [--dir DIR]
               spool-bench all [--readings N] [--seconds S] [--dir DIR]
               spool-bench count SPOOL_PATH      (readings and events in a stopped lampd's spool, as JSON)
               spool-bench drain SPOOL_PATH [--batch N]   (read and acknowledge everything, N at a time)
        """)
    exit(arguments[1] == "--help" || arguments[1] == "-h" ? 0 : 2)
}
