import Foundation
import Synchronization
import Testing
@testable import Telemetry
import Clocks

/// A seeded generator, so a failing random case can be replayed.
struct SplitMix64: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE5_E4B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}

@Suite("Packed telemetry blocks")
struct TelemetryBlockTests {
    static let bootA = UUID(uuidString: "3F2504E0-4F89-11D3-9A0C-0305E82C3301")!
    static let bootB = UUID(uuidString: "9C5B94B1-35AD-49BB-B118-8E8FC24ABF80")!

    func entry(_ sequence: Int64, _ value: ReadingValue, channel: Int64 = 1, utc: Int64 = 1_750_000_000_000_000_000,
               boot: Int64 = 5_000_000_000, bootID: UUID = bootA, quality: ReadingQuality = .good) -> TelemetryBlock.Entry {
        let synchronised = !quality.contains(.clockUnsynchronised)
        return TelemetryBlock.Entry(sequence: sequence, channelID: channel, value: value,
                                    time: Timestamp(utcNanoseconds: utc, bootNanoseconds: boot, bootID: bootID,
                                                    isClockSynchronised: synchronised),
                                    quality: quality)
    }

    /// Compares with NaN equal to NaN of the same bits (a stored NaN must come back as that NaN).
    func same(_ a: [TelemetryBlock.Entry], _ b: [TelemetryBlock.Entry]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { x, y in
            var x = x, y = y
            if case .number(let p) = x.value, case .number(let q) = y.value, p.isNaN || q.isNaN {
                guard p.bitPattern == q.bitPattern else { return false }
                x.value = .boolean(true); y.value = .boolean(true)
            }
            return x == y
        }
    }

    @Test("Every kind of value, quality, gap, boot and clock step comes back exactly")
    func roundTrip() throws {
        let entries = [
            entry(7, .number(230.5), quality: .good),
            entry(8, .number(-0.0)),
            entry(9, .number(.nan)),
            entry(10, .number(-.infinity)),
            entry(11, .number(0.1)),  // not exact in float32: float64
            entry(12, .number(65535), channel: 300),
            entry(13, .number(-9_007_199_254_740_992)),
            entry(14, .number(1e300)),
            entry(20, .boolean(true), quality: [.uncertain, .bad]),  // a gap of 6
            entry(21, .boolean(false), quality: .clockUnsynchronised),
            entry(22, .string("Störung ⚡ 42")),
            entry(23, .string("")),
            entry(24, .number(1), utc: .min, boot: .max, bootID: Self.bootB),
            entry(25, .number(2), utc: .max, boot: .min, bootID: Self.bootA),
            entry(.max, .number(3), channel: .max),
        ]
        let bytes = TelemetryBlock.encode(entries)
        #expect(same(try TelemetryBlock.decode(bytes, firstSequence: 7), entries))
    }

    @Test("Random blocks round-trip (seeded)", arguments: 0..<20)
    func randomRoundTrip(seed: UInt64) throws {
        var random = SplitMix64(state: seed)
        var sequence = Int64.random(in: 1...1_000_000, using: &random)
        var utc = Int64.random(in: 0...Int64.max / 2, using: &random)
        var entries: [TelemetryBlock.Entry] = []
        for _ in 0..<Int.random(in: 1...300, using: &random) {
            sequence += Int64.random(in: 1...3, using: &random)
            utc += Int64.random(in: -1_000...2_000_000_000, using: &random)
            let value: ReadingValue = switch Int.random(in: 0..<5, using: &random) {
            case 0: .number(Double(Int16.random(in: .min ... .max, using: &random)))
            case 1: .number(Double(Float.random(in: -1e6...1e6, using: &random)))
            case 2: .number(Double(bitPattern: random.next()))
            case 3: .boolean(Bool.random(using: &random))
            default: .string(String(repeating: "ä", count: Int.random(in: 0...20, using: &random)))
            }
            entries.append(entry(sequence, value, channel: Int64.random(in: 1...500, using: &random), utc: utc,
                                 boot: utc &- 1_700_000_000_000_000_000 + Int64.random(in: -50...50, using: &random),
                                 bootID: Bool.random(using: &random) ? Self.bootA : Self.bootB,
                                 quality: ReadingQuality(rawValue: UInt8.random(in: 0...7, using: &random))))
        }
        #expect(same(try TelemetryBlock.decode(TelemetryBlock.encode(entries), firstSequence: entries[0].sequence), entries))
    }

    @Test("A poll of the harness's 40 registers packs into under 12 bytes a reading")
    func compact() {
        var entries: [TelemetryBlock.Entry] = []
        var sequence: Int64 = 1
        for poll in 0..<5 {  // one 5 s telemetry window at 1 Hz
            let boot = 5_000_000_000 + Int64(poll) * 1_000_000_000 + 317
            for register in 0..<40 {
                let value = register < 20 ? Double(Float(230.1) + Float(poll)) : Double(1200 + register)
                entries.append(entry(sequence, .number(value), channel: Int64(register + 1),
                                     utc: boot + 1_745_000_000_000_000_000 + 12, boot: boot))
                sequence += 1
            }
        }
        let bytes = TelemetryBlock.encode(entries)
        #expect(Double(bytes.count) / Double(entries.count) < 12, "\(bytes.count) bytes for \(entries.count) readings")
    }

    @Test("Hostile bytes never trap: random blocks and mutations of a valid one either decode or throw", arguments: 0..<4)
    func fuzz(seed: UInt64) {
        var random = SplitMix64(state: 0xF00D + seed)
        let valid = TelemetryBlock.encode((1...60).map { entry(Int64($0), .number(Double($0) * 1.5), channel: Int64($0 % 7)) }
            + [entry(61, .string("fault E42"))])
        for _ in 0..<3000 {
            var bytes: [UInt8]
            if Bool.random(using: &random) {
                bytes = (0..<Int.random(in: 0...200, using: &random)).map { _ in UInt8.random(in: 0...255, using: &random) }
                if !bytes.isEmpty && Bool.random(using: &random) { bytes[0] = TelemetryBlock.version }
            } else {
                bytes = valid
                for _ in 0..<Int.random(in: 1...4, using: &random) {
                    let i = Int.random(in: 0..<bytes.count, using: &random)
                    bytes[i] = UInt8.random(in: 0...255, using: &random)
                }
                if Bool.random(using: &random) { bytes.removeLast(Int.random(in: 0..<bytes.count, using: &random)) }
            }
            _ = try? TelemetryBlock.decode(bytes, firstSequence: Int64.random(in: .min ... .max, using: &random))
        }
        // A block that lies about its count does not make the decoder allocate for it.
        #expect(throws: TelemetryBlock.DecodeError.self) {
            try TelemetryBlock.decode([1, 0xFF, 0xFF, 0xFF, 0xFF, 0x0F, 1] + [UInt8](repeating: 0, count: 16), firstSequence: 1)
        }
    }

    @Test("Frame headers: hostile bytes are refused, never trap")
    func frameHeaderFuzz() throws {
        var random = SplitMix64(state: 99)
        let good = TelemetryLog.frameBytes(
            .init(payloadBytes: 3, firstSequence: 5, lastSequence: 9, minUTCNanoseconds: 1, maxUTCNanoseconds: 2,
                  readings: 5, checksum: 0), payload: [1, 2, 3])
        #expect(try TelemetryLog.parseHeader(good[...]).lastSequence == 9)
        for _ in 0..<5000 {
            var bytes = good
            bytes[Int.random(in: 0..<48, using: &random)] = UInt8.random(in: 0...255, using: &random)
            _ = try? TelemetryLog.parseHeader(bytes[..<Int.random(in: 0...48, using: &random)])
        }
        #expect(throws: TelemetryLog.FrameError.self) { try TelemetryLog.parseHeader([UInt8](repeating: 0xFF, count: 48)[...]) }
        #expect(CRC32C.checksum(Array("123456789".utf8)) == 0xE306_9283)  // the standard check value
    }
}

@Suite("Spool telemetry log on disk")
struct TelemetryLogFileTests {
    func configuration(_ folder: TemporaryFolder) -> SpoolConfiguration {
        SpoolConfiguration(path: folder.path("spool.sqlite"), maxSizeMegabytes: 0.5, commitWindow: .milliseconds(5))
    }

    func segments(_ folder: TemporaryFolder) throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: folder.path("spool.sqlite-telemetry")).sorted()
    }

    /// Appends `count` readings in groups of `perCommit` (value = index), each group durable.
    func fill(_ spool: Spool, _ time: FakeTimeSource, count: Int, perCommit: Int = 100) async throws {
        for i in 0..<count {
            try spool.enqueue(try reading(Double(i), time: time.now()))
            if i % perCommit == perCommit - 1 { await spool.flush() }
        }
        await spool.flush()
    }

    let page = Int(TelemetryLog.pageBytes)

    /// The frames of a segment file, as (offset, bytes), walking over the zeros a page gap leaves.
    func frames(in path: String) throws -> [(offset: Int, bytes: Int)] {
        let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
        var result: [(offset: Int, bytes: Int)] = []
        var offset = TelemetryLog.fileHeaderBytes
        while offset < bytes.count {
            if bytes[offset] == 0 { offset = (offset / page + 1) * page; continue }
            let header = try TelemetryLog.parseHeader(bytes[offset...])
            let length = TelemetryLog.frameHeaderBytes + header.payloadBytes
            result.append((offset, length))
            offset += length
        }
        return result
    }

    @Test("Zeros after a frame: the rest of its page when another frame of its size would not fit there",
          arguments: [(1064, 1000, 0), (3500, 1000, 596), (4096, 1000, 0), (8000, 5000, 192), (5000, 100, 0),
                      (4095, 2, 1), (4095, 1, 0), (12_300, 4000, 0), (12_300, 4100, 4084)])
    func tailPadding(frameEnd: Int, frame: Int, zeros: Int) {
        #expect(TelemetryLog.tailPadding(frameEnd: Int64(frameEnd), frameBytes: frame) == zeros)
    }

    /// Appends `groups` frames of `perCommit` readings of one value (frames of one size).
    func fillEvenly(_ spool: Spool, _ time: FakeTimeSource, groups: Int, perCommit: Int) async throws {
        for _ in 0..<groups {
            for _ in 0..<perCommit { try spool.enqueue(try reading(230.5, time: time.now())) }
            await spool.flush()
        }
    }

    @Test("Frames of one size never straddle a page: each commit starts a fresh page or fits in the one before; zeros are skipped after a restart")
    func framesStayInTheirPage() async throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let time = FakeTimeSource()
        // A window longer than the test: each flush() makes exactly one frame.
        var configuration = configuration(folder)
        configuration.commitWindow = .seconds(600)
        let spool = try await Spool.open(configuration, timeSource: time)
        try await withRunningSpool(spool) { try await fillEvenly($0, time, groups: 30, perCommit: 250) }
        var padded = 0, frameCount = 0
        for name in try segments(folder) {
            let path = folder.path("spool.sqlite-telemetry/" + name)
            let found = try frames(in: path)
            frameCount += found.count
            for (index, frame) in found.enumerated() {
                #expect(frame.offset / page == (frame.offset + frame.bytes - 1) / page, "\(name): frame at \(frame.offset), \(frame.bytes) bytes")
                if index > 0, found[index - 1].offset + found[index - 1].bytes != frame.offset { padded += 1 }
            }
        }
        #expect(frameCount == 30)
        #expect(padded > 0, "no frame was followed by zeros: the case this test is for did not arise")

        let reopened = try await Spool.open(configuration, timeSource: time)
        #expect(reopened.startupEvents.isEmpty)
        let (pending, next) = try await withRunningSpool(reopened) { spool in
            (try await spool.oldestPending(limit: 10_000), try await spool.append(try reading(1, time: time.now())))
        }
        #expect(pending.map(\.sequence) == Array(1...7500))
        #expect(next == 7501)
    }

    @Test("A frame torn after zeros is cut off where the zeros start; the next frame is stored and read back")
    func tornAfterGap() async throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let time = FakeTimeSource()
        let spool = try await Spool.open(configuration(folder), timeSource: time)
        // Two frames that do not fit in one page together: the first is followed by zeros.
        try await withRunningSpool(spool) { try await fill($0, time, count: 1000, perCommit: 500) }
        let newest = folder.path("spool.sqlite-telemetry/" + (try segments(folder).last!))
        let found = try frames(in: newest)
        try #require(found.count == 2 && found[1].offset == page && found[0].offset + found[0].bytes < page, "\(found)")
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: newest))
        try handle.truncate(atOffset: UInt64(found[1].offset + 100))  // the crash cut the second frame short
        try handle.close()
        try FileManager.default.removeItem(atPath: folder.path("spool.sqlite.marker"))

        let reopened = try await Spool.open(configuration(folder), timeSource: time)
        #expect(reopened.startupEvents.isEmpty)
        #expect(try FileManager.default.attributesOfItem(atPath: newest)[.size] as? Int == found[0].offset + found[0].bytes)
        let pending = try await withRunningSpool(reopened) { spool in
            try await fill(spool, time, count: 50)
            return try await spool.oldestPending(limit: 1000)
        }
        #expect(pending.map(\.sequence) == Array(1...550))
    }

    @Test("A segment written before page gaps (format 1, frames back to back across pages) opens and drains")
    func formatOneSegment() async throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let time = FakeTimeSource()
        let spool = try await Spool.open(configuration(folder), timeSource: time)
        try await withRunningSpool(spool) { try await fill($0, time, count: 1200, perCommit: 150) }
        // Rewrite each segment as the previous lampd wrote it: version 1, no gaps.
        var straddling = 0
        for name in try segments(folder) {
            let path = folder.path("spool.sqlite-telemetry/" + name)
            let bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: path)))
            var packed = Array(bytes[0..<TelemetryLog.fileHeaderBytes])
            #expect(packed[8] == TelemetryLog.formatVersion)
            packed[8] = 1
            for frame in try frames(in: path) {
                if packed.count / page != (packed.count + frame.bytes - 1) / page { straddling += 1 }
                packed += bytes[frame.offset..<(frame.offset + frame.bytes)]
            }
            try Data(packed).write(to: URL(fileURLWithPath: path))
        }
        #expect(straddling > 0)

        let reopened = try await Spool.open(configuration(folder), timeSource: time)
        #expect(reopened.startupEvents.isEmpty)
        let sequences = try await withRunningSpool(reopened) { spool in
            try await fill(spool, time, count: 150, perCommit: 150)  // appended after the old frames
            let sequences = try await spool.oldestPending(limit: 10_000).map(\.sequence)
            try await spool.acknowledge(throughSequence: 1350)
            return sequences
        }
        #expect(sequences == Array(1...1350))
        #expect(try segments(folder).isEmpty)
    }

    @Test("A frame cut short at the end of the newest segment (a crash mid-write) is cut off; the frames before it stay")
    func tornTail() async throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let time = FakeTimeSource()
        let spool = try await Spool.open(configuration(folder), timeSource: time)
        try await withRunningSpool(spool) { try await fill($0, time, count: 300) }
        let newest = folder.path("spool.sqlite-telemetry/" + (try segments(folder).last!))
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: newest))
        let size = try handle.seekToEnd()
        try handle.truncate(atOffset: size - 10)  // the last frame (readings 201…300) loses its end
        try handle.close()
        // As after a crash: the marker never claimed the frame that was being written.
        try FileManager.default.removeItem(atPath: folder.path("spool.sqlite.marker"))

        let reopened = try await Spool.open(configuration(folder), timeSource: time)
        #expect(reopened.startupEvents.isEmpty)
        let (pending, next) = try await withRunningSpool(reopened) { spool in
            (try await spool.oldestPending(limit: 1000), try await spool.append(try reading(-1, time: time.now())))
        }
        #expect(pending.map(\.sequence) == Array(1...200))
        #expect(next == 201)  // never reported durable, so its numbers are free again
    }

    @Test("Damage inside an older segment is reported as spool.corrupt; readings before it are kept")
    func damagedOlderSegment() async throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let time = FakeTimeSource()
        let spool = try await Spool.open(configuration(folder), timeSource: time)
        // 0.5 MiB bound: 16 KiB segments; 6000 readings make several.
        try await withRunningSpool(spool) { try await fill($0, time, count: 6000) }
        let files = try segments(folder)
        try #require(files.count >= 3)
        let oldest = folder.path("spool.sqlite-telemetry/" + files[0])
        var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: oldest)))
        let last = try #require(try frames(in: oldest).last)
        bytes[last.offset + last.bytes - 5] ^= 0xFF  // in the payload of its last frame
        try Data(bytes).write(to: URL(fileURLWithPath: oldest))

        let reopened = try await Spool.open(configuration(folder), timeSource: time)
        let corrupt = reopened.startupEvents.filter { $0.kind == "spool.corrupt" }
        #expect(corrupt.count == 1 && corrupt.first?.severity == .alarm)
        let pending = try await withRunningSpool(reopened) { try await $0.oldestPending(limit: 10_000) }
        let sequences = pending.filter { if case .reading = $0.record { true } else { false } }.map(\.sequence)
        #expect(sequences.first == 1 && sequences.last == 6000)
        #expect(sequences.count < 6000 && sequences.count > 5800)  // one frame of 100 lost, the rest kept
        #expect(sequences == sequences.sorted())
    }

    @Test("A frame the card damages while lampd runs is skipped and reported once; the uplink is not stuck on it")
    func damagedWhileRunning() async throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let time = FakeTimeSource()
        let spool = try await Spool.open(configuration(folder), timeSource: time)
        let seen = Mutex<[Event]>([])
        spool.observeOwnEvents { event in seen.withLock { $0.append(event) } }
        let (first, again) = try await withRunningSpool(spool) { spool in
            try await fill(spool, time, count: 300)  // three frames of 100, one segment
            let segment = folder.path("spool.sqlite-telemetry/" + (try segments(folder)[0]))
            var bytes = try [UInt8](Data(contentsOf: URL(fileURLWithPath: segment)))
            bytes[bytes.count * 1 / 2] ^= 0xFF  // inside the second frame
            try Data(bytes).write(to: URL(fileURLWithPath: segment))
            return (try await spool.oldestPending(limit: 1000), try await spool.oldestPending(limit: 1000))
        }
        let readings = first.filter { if case .reading = $0.record { true } else { false } }.map(\.sequence)
        #expect(readings == Array(1...100) + Array(201...300))
        #expect(again.filter { if case .reading = $0.record { true } else { false } }.count == 200)
        let reports = seen.withLock { $0 }.filter { $0.kind == "spool.corrupt" }
        #expect(reports.count == 1 && reports.first?.message.contains("readings 101 to 200") == true)
    }

    @Test("Acknowledging deletes whole segment files, never one with unacknowledged readings")
    func acknowledgeDeletesSegments() async throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let time = FakeTimeSource()
        let spool = try await Spool.open(configuration(folder), timeSource: time)
        let (before, middle, after, pendingAfter) = try await withRunningSpool(spool) { spool in
            try await fill(spool, time, count: 6000)
            let before = try segments(folder)
            try await spool.acknowledge(throughSequence: 3000)
            let middle = try segments(folder)
            let pendingAfter = try await spool.oldestPending(limit: 1).first?.sequence
            try await spool.acknowledge(throughSequence: 6000)
            return (before, middle, try segments(folder), pendingAfter)
        }
        #expect(middle.count < before.count && middle.count > 0)
        #expect(pendingAfter == 3001)
        #expect(after.isEmpty)
        // The survivors are the newest files, untouched.
        #expect(Array(before.suffix(middle.count)) == middle)
    }

    @Test("A named pipe where a segment should be does not hang the start: reported, left alone")
    func fifoSegment() async throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let time = FakeTimeSource()
        let spool = try await Spool.open(configuration(folder), timeSource: time)
        try await withRunningSpool(spool) { try await fill($0, time, count: 50) }
        #expect(mkfifo(folder.path("spool.sqlite-telemetry/" + TelemetryLog.fileName(99_999)), 0o600) == 0)

        let reopened = try await Spool.open(configuration(folder), timeSource: time)
        #expect(reopened.startupEvents.contains { $0.kind == "spool.corrupt" && $0.message.contains("not a regular file") })
        let pending = try await withRunningSpool(reopened) { try await $0.oldestPending(limit: 100) }
        #expect(pending.filter { if case .reading = $0.record { true } else { false } }.count == 50)
    }

    @Test("Segments of another spool (the SQLite file was replaced) are moved aside and reported, not sent")
    func foreignSegments() async throws {
        let folder = try TemporaryFolder()
        defer { folder.cleanUp() }
        let time = FakeTimeSource()
        let spool = try await Spool.open(configuration(folder), timeSource: time)
        try await withRunningSpool(spool) { try await fill($0, time, count: 50) }
        for suffix in ["", "-wal", "-shm", ".marker"] { try? FileManager.default.removeItem(atPath: folder.path("spool.sqlite" + suffix)) }

        let fresh = try await Spool.open(configuration(folder), timeSource: time)
        #expect(fresh.startupEvents.contains { $0.kind == "spool.corrupt" && $0.message.contains("another spool") })
        let pending = try await withRunningSpool(fresh) { try await $0.oldestPending(limit: 100) }
        #expect(!pending.contains { if case .reading = $0.record { true } else { false } })
        #expect(try segments(folder).contains { $0.hasSuffix(".seg.foreign") })
    }
}
