// uplink-bench: the cost of signed batches. Plain executable measuring with ContinuousClock.
// See docs/performance.md, section "Uplink".
//
//   uplink-bench sign [--batches N] [--records R]   build, sign, deflate, inflate, verify one batch: cost per step
//   uplink-bench size [--records R]                 bytes of one 40-channel batch: payload, COSE, deflated
//   uplink-bench fill --spool PATH [--hours H] [--channels C]
//                                                   a spool holding H hours of C channels at 1 Hz (the backlog
//                                                   of Benchmarks/uplink-drain.sh)
import Foundation
import Telemetry
import Uplink
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
    func double(_ key: String, _ fallback: Double) -> Double { values[key].flatMap(Double.init) ?? fallback }
}

let bootID = UUID()
let startNanoseconds: Int64 = 1_764_460_800_000_000_000   // 2025-11-30T00:00:00Z

/// Names, units and typical values of an Eastron-style meter's channels, four meters: 40 channels.
let quantities: [(String, SenMLUnit, Double)] = [
    ("voltage", .volt, 230), ("current", .ampere, 0.4), ("power", .watt, 92), ("apparent-power", .voltAmpere, 95),
    ("reactive-power", .voltAmpereReactive, 20), ("power-factor", .none, 0.97), ("frequency", .hertz, 50),
    ("import-energy", .kilowattHour, 1234.5), ("export-energy", .kilowattHour, 0.2), ("neutral-current", .ampere, 0.02),
]

/// Reading `i` of a 1 Hz poll of `channels` channels: each register read ~2 ms after the previous, the
/// value as a real meter gives it (a float32 register, a little noise around its level).
func reading(_ i: Int, channels: Int, names: [ChannelName], generator: inout SystemRandomNumberGenerator) -> Reading {
    let second = Int64(i / channels)
    let index = i % channels
    let (_, unit, level) = quantities[index % quantities.count]
    let noisy = level * (1 + Double.random(in: -0.002...0.002, using: &generator))
    let time = Timestamp(
        utcNanoseconds: startNanoseconds + second * 1_000_000_000 + Int64(index) * 2_000_000 + Int64.random(in: 0..<500_000, using: &generator),
        bootNanoseconds: 3_600_000_000_000 + second * 1_000_000_000 + Int64(index) * 2_000_000,
        bootID: bootID, isClockSynchronised: true)
    return Reading(channel: names[index], value: .number(Double(Float(noisy))), unit: unit, time: time)
}

func channelNames(_ count: Int) -> [ChannelName] {
    (0..<count).map { ChannelName(rawValue: "meter\($0 / quantities.count + 1).\(quantities[$0 % quantities.count].0)")! }
}

func records(_ count: Int, channels: Int = 40) -> [SpooledRecord] {
    let names = channelNames(channels)
    var generator = SystemRandomNumberGenerator()
    return (0..<count).map { SpooledRecord(sequence: Int64($0 + 1), record: .reading(reading($0, channels: channels, names: names, generator: &generator))) }
}

func microseconds(_ duration: Duration) -> Double { Double(duration.components.seconds) * 1e6 + Double(duration.components.attoseconds) / 1e12 }

func sign(_ options: Options) throws {
    let batches = options.int("batches", 200)
    let count = options.int("records", 2400)
    let input = records(count)
    let key = DeviceKey.generate()
    let identity = DeviceIdentity(deviceID: DeviceID(rawValue: "bench-pole")!, key: key)
    let clock = ContinuousClock()
    var build = Duration.zero, signing = Duration.zero, deflate = Duration.zero, inflate = Duration.zero, verify = Duration.zero
    var previous: [UInt8] = []
    var bytes = 0, compressed = 0
    for sequence in 1...batches {
        var payload: BatchPayload!
        build += clock.measure { payload = try! BatchBuilder(deviceID: identity.deviceID).build(records: input) }
        var batch: SignedBatch!
        signing += clock.measure { batch = BatchSigner(identity: identity).sign(payload: payload, sequence: UInt64(sequence), previousHash: previous) }
        previous = batch.hash
        var body: [UInt8] = []
        deflate += clock.measure { body = BodyCompression.deflate(batch.bytes) }
        inflate += clock.measure { _ = try! BodyCompression.inflate(body, maxOutputBytes: 16 << 20) }
        verify += clock.measure { _ = try! BatchVerifier.verify(bytes: batch.bytes, publicKey: key.publicKey) }
        bytes += batch.bytes.count
        compressed += body.count
    }
    // The signature alone, on a 2400-record payload's Sig_structure size.
    let message = [UInt8](repeating: 7, count: bytes / batches)
    var signatureOnly = Duration.zero, verifyOnly = Duration.zero
    for _ in 0..<batches {
        var signature: [UInt8] = []
        signatureOnly += clock.measure { signature = key.signature(for: message) }
        verifyOnly += clock.measure { _ = key.publicKey.isValidSignature(signature, for: message) }
    }
    let n = Double(batches)
    print("batches: \(batches) of \(count) readings, \(bytes / batches) bytes signed, \(compressed / batches) bytes deflated")
    print(String(format: "per batch (µs): build %.0f  sign %.0f  deflate %.0f  inflate %.0f  verify+decode %.0f",
                 microseconds(build) / n, microseconds(signing) / n, microseconds(deflate) / n, microseconds(inflate) / n, microseconds(verify) / n))
    print(String(format: "Ed25519 alone on %d bytes (µs): sign %.1f  verify %.1f", message.count, microseconds(signatureOnly) / n, microseconds(verifyOnly) / n))
}

func size(_ options: Options) throws {
    let count = options.int("records", 2400)
    let key = DeviceKey.generate()
    let identity = DeviceIdentity(deviceID: DeviceID(rawValue: "bench-pole")!, key: key)
    let payload = try BatchBuilder(deviceID: identity.deviceID).build(records: records(count))
    let batch = BatchSigner(identity: identity).sign(payload: payload, sequence: 1, previousHash: [UInt8](repeating: 1, count: 32))
    let body = BodyCompression.deflate(batch.bytes)
    print("\(count) readings: payload \(payload.bytes.count) B, COSE_Sign1 \(batch.bytes.count) B, deflated \(body.count) B")
    print(String(format: "per reading: %.2f B signed, %.2f B deflated (HTTP headers not included)",
                 Double(batch.bytes.count) / Double(count), Double(body.count) / Double(count)))
}

func fill(_ options: Options) async throws {
    guard let path = options.values["spool"] else { throw CocoaError(.fileNoSuchFile) }
    let channels = options.int("channels", 40)
    let total = Int(options.double("hours", 24) * 3600) * channels
    let spool = try await Spool.open(SpoolConfiguration(path: path, maxSizeMegabytes: 4096))
    let loop = Task { await spool.run() }
    let names = channelNames(channels)
    var generator = SystemRandomNumberGenerator()
    let start = ContinuousClock.now
    var i = 0
    while i < total {
        do {
            try spool.enqueue(reading(i, channels: channels, names: names, generator: &generator))
            i += 1
        } catch {
            _ = await spool.flush()   // backlog full: let the group commit catch up
        }
    }
    _ = await spool.flush()
    loop.cancel()
    await loop.value
    try spool.close()
    print("filled \(path): \(total) readings in \(ContinuousClock.now - start)")
}

let arguments = CommandLine.arguments.dropFirst()
let options = Options(arguments.dropFirst())
switch arguments.first {
case "sign": try sign(options)
case "size": try size(options)
case "fill": try await fill(options)
default:
    print("usage: uplink-bench sign|size|fill [options] (see the header of Benchmarks/Sources/uplink-bench/main.swift)")
    exit(2)
}
