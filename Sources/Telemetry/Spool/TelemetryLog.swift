import FoundationEssentials
import Glibc
import Synchronization
import Clocks
import SystemSupport

/// The spool's periodic readings on flash: append-only segment files in `<spool>-telemetry/`, one
/// checksummed frame (a `TelemetryBlock`) per group commit (docs/spool.md "How readings are stored").
///
/// Why not SQLite rows: a commit of a few hundred readings rewrote several 4 KiB pages twice (WAL,
/// then checkpoint). Appending one frame dirties only the pages it lies in. Acknowledged or dropped
/// readings go by deleting whole segment files.
///
/// **Pages**: when the rest of the 4 KiB page a frame ends in could not hold another frame of its
/// size, the frame is written with zeros up to the page boundary (`tailPadding`), and readers skip
/// them. The next commit then starts a fresh page instead of rewriting the one this commit flushed:
/// a frame of 1.5–2.5 kB (a 5 s window of 40 channels) cost 4 096 + its own bytes per commit,
/// and costs 4 096 (as UBIFS pads to its write unit at each sync). The zeros are written with the
/// frame: leaving a hole and writing after it made the kernel dirty the old page again.
///
/// **Durability**: `append` returns after `fdatasync` of the segment (and of the folder when it
/// created the file). A frame cut short by a crash fails its checksum and is cut off when the log
/// is opened again; frames before it are intact. After a failed write the segment is closed and the
/// next frame starts a new file, so a damaged tail is never followed by good frames.
///
/// **Which readings are live**: those with a sequence number above `floor` (the spool's
/// acknowledged-through and dropped-through marks, kept in the SQLite file with the rest of the
/// spool's state): a crash between recording an acknowledgement and deleting the files loses nothing
/// and resends nothing.
///
/// Runs on the spool's writer thread (appends, discards) and reader thread (reads): the segment list
/// is behind a mutex, file data is only read up to the committed size.
final class TelemetryLog: Sendable {
    /// `<spool path>-telemetry`.
    let directory: String
    let spoolID: String
    /// A segment is closed and a new one started once it holds this many bytes.
    let segmentBytes: Int64
    private let state: Mutex<State>

    static let fileHeaderBytes = 64
    static let frameHeaderBytes = 48
    /// The unit the kernel writes back and the card programs: a frame avoids straddling two of them.
    static let pageBytes: Int64 = 4096
    /// Segment format written: 1 = frames back to back; 2 = a frame may be followed by zeros up to
    /// a page boundary. Readers accept both (a version 1 segment never has such zeros).
    static let formatVersion: UInt8 = 2
    static let fileMagic = Array("LAMPDTLG".utf8)
    static let frameMagic: UInt32 = 0x4B4C_5054
    /// Largest frame payload accepted when reading (a group commit is far smaller).
    static let maxPayloadBytes = 16 << 20

    /// What is known about one segment file without reading its frames again.
    struct Segment: Sendable {
        /// First sequence of its first frame (its file name).
        var firstSequence: Int64
        var path: String
        /// Bytes up to the end of the last whole frame.
        var committedBytes: Int64
        var lastSequence: Int64 = 0
        var readings: Int64 = 0
        /// Readings above the floor.
        var liveReadings: Int64 = 0
        var minUTCNanoseconds: Int64 = .max
        var maxUTCNanoseconds: Int64 = .min
    }

    private struct State: Sendable {
        var segments: [Segment] = []
        /// Open for appending: the last segment's descriptor, or -1 (the next append starts a new segment).
        var appendDescriptor: Int32 = -1
        var floor: Int64 = 0
    }

    /// A frame's header fields.
    struct FrameHeader: Sendable {
        var payloadBytes: Int
        var firstSequence: Int64
        var lastSequence: Int64
        var minUTCNanoseconds: Int64
        var maxUTCNanoseconds: Int64
        var readings: Int64
        var checksum: UInt32
    }

    // MARK: opening

    /// Opens (creating the folder if needed) and checks every segment; a frame cut short by a crash
    /// at the end of the newest segment is cut off. Returns notes for what a technician should know
    /// (segments of another spool moved aside, damage inside an older segment).
    static func open(spoolPath: String, spoolID: String, maxSizeBytes: Int64, floor: Int64) throws -> (TelemetryLog, [String]) {
        let directory = spoolPath + "-telemetry"
        if mkdir(directory, 0o750) == 0 {
            try syncDirectory(FilePaths.directory(of: directory))
        } else if errno != EEXIST {
            throw POSIXFailure(operation: "create the folder \(directory)", code: errno)
        }
        var notes: [String] = []
        var segments: [Segment] = []
        let names = try FileManager.default.contentsOfDirectory(atPath: directory)
            .compactMap { name -> (Int64, String)? in
                guard name.hasSuffix(".seg"), let first = Int64(name.dropLast(4)), first > 0 else { return nil }
                return (first, name)
            }
            .sorted { $0.0 < $1.0 }
        for (index, (first, name)) in names.enumerated() {
            let path = FilePaths.join(directory, name)
            let isNewest = index == names.count - 1
            switch try scan(path: path, firstSequence: first, spoolID: spoolID, floor: floor) {
            case .empty where isNewest:
                unlink(path)  // created, then the process died before its first frame was durable
            case .empty:
                notes.append("\(path) has no readable header; left as it is and not sent")
            case .notAFile:
                notes.append("\(path) is not a regular file; left as it is and ignored")
            case .foreign(let owner):
                let aside = path + ".foreign"
                rename(path, aside)
                notes.append("\(path) belongs to another spool (\(owner)); moved aside to \(aside), not sent")
            case .segment(var segment, let damagedAt):
                if let damagedAt {
                    if isNewest {
                        // The end of the newest segment: a frame the crash cut short, never reported durable.
                        try truncate(path, to: damagedAt)
                    } else {
                        notes.append("\(path) is damaged after byte \(damagedAt); \(segment.readings) readings before it "
                            + "are kept, the rest of that file is unreadable and was not sent")
                    }
                    segment.committedBytes = damagedAt
                }
                if segment.readings == 0 {
                    if isNewest { unlink(path) }
                    continue
                }
                segments.append(segment)
            }
        }
        let segmentBytes = min(max(maxSizeBytes / 32, 16 << 10), 1 << 20)
        let log = TelemetryLog(directory: directory, spoolID: spoolID, segmentBytes: segmentBytes,
                               state: State(segments: segments, floor: floor))
        try log.discard(through: floor)
        return (log, notes)
    }

    private init(directory: String, spoolID: String, segmentBytes: Int64, state: State) {
        self.directory = directory
        self.spoolID = spoolID
        self.segmentBytes = segmentBytes
        self.state = Mutex(state)
    }

    private enum ScanResult {
        case empty
        case notAFile
        case foreign(String)
        /// The segment and, when a frame does not check, the offset where the damage starts.
        case segment(Segment, damagedAt: Int64?)
    }

    /// Reads every frame of a segment and checks it (header, bounds, checksum, ascending sequences).
    private static func scan(path: String, firstSequence: Int64, spoolID: String, floor: Int64) throws -> ScanResult {
        // O_NONBLOCK: a named pipe put where a segment should be must not hang the start.
        let fd = Glibc.open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        guard fd >= 0 else { throw POSIXFailure(operation: "open \(path)", code: errno) }
        defer { Glibc.close(fd) }
        var status = stat()
        guard fstat(fd, &status) == 0 else { throw POSIXFailure(operation: "stat \(path)", code: errno) }
        guard status.st_mode & S_IFMT == S_IFREG else { return .notAFile }
        let size = Int64(status.st_size)
        guard size >= Int64(fileHeaderBytes), let header = try? readExactly(fd, count: fileHeaderBytes, at: 0),
              Array(header[0..<8]) == fileMagic
        else { return .empty }
        let owner = String(decoding: header[16..<52], as: UTF8.self)
        guard owner == spoolID else { return .foreign(owner) }
        var segment = Segment(firstSequence: firstSequence, path: path, committedBytes: Int64(fileHeaderBytes))
        var offset = Int64(fileHeaderBytes)
        var previousLast = firstSequence - 1
        while offset < size {
            let start = frameStart(fd, at: offset, end: size)
            if start == size {  // zeros after the last frame, to the page boundary
                segment.committedBytes = size
                break
            }
            guard let frame = try? readFrame(fd, at: start, fileSize: size),
                  frame.header.firstSequence > previousLast, frame.header.lastSequence >= frame.header.firstSequence
            else { return .segment(segment, damagedAt: offset) }
            add(frame.header, to: &segment, floor: floor)
            previousLast = frame.header.lastSequence
            offset = start + Int64(frameHeaderBytes + frame.header.payloadBytes)
            segment.committedBytes = offset
        }
        return .segment(segment, damagedAt: nil)
    }

    private static func add(_ header: FrameHeader, to segment: inout Segment, floor: Int64) {
        segment.lastSequence = header.lastSequence
        segment.readings += header.readings
        // A frame the floor cuts through counts whole here; `discard` corrects it to the exact figure.
        if header.lastSequence > floor { segment.liveReadings += header.readings }
        segment.minUTCNanoseconds = min(segment.minUTCNanoseconds, header.minUTCNanoseconds)
        segment.maxUTCNanoseconds = max(segment.maxUTCNanoseconds, header.maxUTCNanoseconds)
    }

    // MARK: appending

    /// Appends one frame holding `entries` (ascending sequences, not empty) and makes it durable.
    /// On failure nothing counts as written and the next append starts a new segment.
    func append(_ entries: [TelemetryBlock.Entry]) throws {
        guard let first = entries.first, let last = entries.last else { return }
        let payload = TelemetryBlock.encode(entries)
        var minUTC = Int64.max, maxUTC = Int64.min
        for entry in entries {
            minUTC = min(minUTC, entry.time.utcNanoseconds)
            maxUTC = max(maxUTC, entry.time.utcNanoseconds)
        }
        let header = FrameHeader(payloadBytes: payload.count, firstSequence: first.sequence, lastSequence: last.sequence,
                                 minUTCNanoseconds: minUTC, maxUTCNanoseconds: maxUTC, readings: Int64(entries.count),
                                 checksum: 0)
        let frame = Self.frameBytes(header, payload: payload)
        try state.withLock { s throws in
            if s.appendDescriptor >= 0, let current = s.segments.last, current.committedBytes >= segmentBytes {
                Glibc.close(s.appendDescriptor)
                s.appendDescriptor = -1
            }
            if s.appendDescriptor < 0 {
                try startSegment(&s, firstSequence: first.sequence, frame: frame)
            } else {
                let index = s.segments.count - 1
                let offset = s.segments[index].committedBytes
                let written = Self.padded(frame, frameBytes: frame.count, writtenAt: offset)
                do {
                    try Self.writeAll(s.appendDescriptor, written, at: offset)
                    guard fdatasync(s.appendDescriptor) == 0 else {
                        throw POSIXFailure(operation: "fdatasync \(s.segments[index].path)", code: errno)
                    }
                } catch {
                    _ = ftruncate(s.appendDescriptor, off_t(offset))
                    Glibc.close(s.appendDescriptor)
                    s.appendDescriptor = -1
                    throw error
                }
                s.segments[index].committedBytes = offset + Int64(written.count)
            }
            Self.add(header, to: &s.segments[s.segments.count - 1], floor: s.floor)
        }
    }

    private func startSegment(_ s: inout State, firstSequence: Int64, frame: [UInt8]) throws {
        let path = FilePaths.join(directory, Self.fileName(firstSequence))
        let fd = Glibc.open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o640)
        guard fd >= 0 else { throw POSIXFailure(operation: "create \(path)", code: errno) }
        var fileHeader = Self.fileMagic
        fileHeader += [Self.formatVersion, 0, 0, 0, 0, 0, 0, 0]  // format version, reserved
        fileHeader += Array(spoolID.utf8.prefix(36))
        fileHeader += [UInt8](repeating: 0, count: Self.fileHeaderBytes - fileHeader.count)
        let written = Self.padded(fileHeader + frame, frameBytes: frame.count, writtenAt: 0)
        do {
            try Self.writeAll(fd, written, at: 0)
            guard fdatasync(fd) == 0 else { throw POSIXFailure(operation: "fdatasync \(path)", code: errno) }
            try Self.syncDirectory(directory)
        } catch {
            Glibc.close(fd)
            unlink(path)
            throw error
        }
        s.appendDescriptor = fd
        s.segments.append(Segment(firstSequence: firstSequence, path: path, committedBytes: Int64(written.count)))
    }

    static func fileName(_ firstSequence: Int64) -> String {
        let digits = String(firstSequence)
        return String(repeating: "0", count: max(0, 19 - digits.count)) + digits + ".seg"
    }

    // MARK: reading

    /// The live entries with a sequence above `afterSequence` and at most `throughSequence`, oldest
    /// first, at most `limit`. A frame that no longer reads back (the card damaged it after it was
    /// written and checked) is skipped, and the rest of its segment too when its header is gone, so
    /// one bad spot never stops the uplink; each is reported once through `damaged`.
    func entries(
        after afterSequence: Int64, through throughSequence: Int64, limit: Int,
        damaged: (String) -> Void = { _ in }
    ) throws -> [TelemetryBlock.Entry] {
        let (segments, floor) = state.withLock { ($0.segments, $0.floor) }
        let lower = max(afterSequence, floor)
        var result: [TelemetryBlock.Entry] = []
        for segment in segments where segment.lastSequence > lower && segment.firstSequence <= throughSequence {
            let fd = Glibc.open(segment.path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
            if fd < 0 {
                if errno == ENOENT { continue }  // acknowledged or dropped meanwhile
                throw POSIXFailure(operation: "open \(segment.path)", code: errno)
            }
            defer { Glibc.close(fd) }
            var offset = Int64(Self.fileHeaderBytes)
            while offset < segment.committedBytes, result.count < limit {
                offset = Self.frameStart(fd, at: offset, end: segment.committedBytes)
                if offset >= segment.committedBytes { break }
                let header: FrameHeader
                do { header = try Self.readHeader(fd, at: offset) } catch {
                    damaged("\(segment.path) cannot be read after byte \(offset) (\(error)); the readings after it in that file are not sent")
                    break
                }
                let next = offset + Int64(Self.frameHeaderBytes + header.payloadBytes)
                defer { offset = next }
                guard header.lastSequence > lower else { continue }
                if header.firstSequence > throughSequence { return result }
                let decoded: [TelemetryBlock.Entry]
                do {
                    let frame = try Self.readFrame(fd, at: offset, fileSize: segment.committedBytes)
                    decoded = try TelemetryBlock.decode(frame.payload, firstSequence: frame.header.firstSequence)
                } catch {
                    damaged("\(segment.path): the frame at byte \(offset) (readings \(header.firstSequence) to "
                        + "\(header.lastSequence)) cannot be read (\(error)); they are not sent")
                    continue
                }
                for entry in decoded where entry.sequence > lower && entry.sequence <= throughSequence {
                    result.append(entry)
                    if result.count == limit { return result }
                }
            }
            if result.count >= limit { break }
        }
        return result
    }

    // MARK: acknowledging and dropping

    /// Raises the floor to `sequence` (readings at or below it are dead) and deletes the segments
    /// that hold nothing live. Returns how many live readings went.
    @discardableResult
    func discard(through sequence: Int64) throws -> Int64 {
        let (before, straddling) = state.withLock { s -> (Int64, Segment?) in
            let before = s.segments.reduce(0) { $0 + $1.liveReadings }
            s.floor = max(s.floor, sequence)
            let floor = s.floor
            return (before, s.segments.first { $0.firstSequence <= floor && $0.lastSequence > floor })
        }
        if let straddling {
            // Count what stays live in the one segment the floor cuts through.
            let live = try liveReadings(in: straddling, floor: sequence)
            state.withLock { s in
                if let i = s.segments.firstIndex(where: { $0.firstSequence == straddling.firstSequence }) {
                    s.segments[i].liveReadings = min(s.segments[i].liveReadings, live)
                }
            }
        }
        deleteDeadSegments()
        return before - liveReadingCount
    }

    /// Readings above `floor` in `segment`: from the frame headers, decoding only the one frame the
    /// floor cuts through (an acknowledgement per uplink batch must not decode the whole segment).
    private func liveReadings(in segment: Segment, floor: Int64) throws -> Int64 {
        let fd = Glibc.open(segment.path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)
        if fd < 0 {
            if errno == ENOENT { return 0 }
            throw POSIXFailure(operation: "open \(segment.path)", code: errno)
        }
        defer { Glibc.close(fd) }
        var live: Int64 = 0
        var offset = Int64(Self.fileHeaderBytes)
        while offset < segment.committedBytes {
            offset = Self.frameStart(fd, at: offset, end: segment.committedBytes)
            if offset >= segment.committedBytes { break }
            guard let header = try? Self.readHeader(fd, at: offset) else { break }
            if header.firstSequence > floor {
                live += header.readings
            } else if header.lastSequence > floor,
                      let frame = try? Self.readFrame(fd, at: offset, fileSize: segment.committedBytes),
                      let decoded = try? TelemetryBlock.decode(frame.payload, firstSequence: header.firstSequence) {
                live += Int64(decoded.lazy.filter { $0.sequence > floor }.count)
            }
            offset += Int64(Self.frameHeaderBytes + header.payloadBytes)
        }
        return live
    }

    /// Deletes every segment at or below the floor (closing the open one if it is among them).
    private func deleteDeadSegments() {
        state.withLock { s in
            while let first = s.segments.first, first.lastSequence <= s.floor {
                if s.segments.count == 1, s.appendDescriptor >= 0 {
                    Glibc.close(s.appendDescriptor)
                    s.appendDescriptor = -1
                }
                unlink(first.path)
                s.segments.removeFirst()
            }
            for i in s.segments.indices where s.segments[i].lastSequence <= s.floor { s.segments[i].liveReadings = 0 }
        }
    }

    /// The oldest segments that together hold at least `bytes` (the open one included, if needed),
    /// as a drop: what the caller records before calling `discard(through: drop.lastSequence)`.
    func plannedDrop(freeing bytes: Int64) -> SpoolStore.Drop? {
        state.withLock { s in
            var freed: Int64 = 0
            var drop: SpoolStore.Drop?
            for segment in s.segments where freed < bytes {
                freed += segment.committedBytes
                guard segment.liveReadings > 0 else { continue }
                if var d = drop {
                    d.count += segment.liveReadings
                    d.lastSequence = segment.lastSequence
                    d.firstUTCNanoseconds = min(d.firstUTCNanoseconds, segment.minUTCNanoseconds)
                    d.lastUTCNanoseconds = max(d.lastUTCNanoseconds, segment.maxUTCNanoseconds)
                    drop = d
                } else {
                    drop = SpoolStore.Drop(recordClass: .telemetry, count: segment.liveReadings,
                                           firstSequence: max(segment.firstSequence, s.floor + 1),
                                           lastSequence: segment.lastSequence,
                                           firstUTCNanoseconds: segment.minUTCNanoseconds,
                                           lastUTCNanoseconds: segment.maxUTCNanoseconds)
                }
            }
            return drop
        }
    }

    // MARK: counters

    /// Bytes of the segment files (live data as the drop policy counts it).
    var bytes: Int64 { state.withLock { $0.segments.reduce(0) { $0 + $1.committedBytes } } }
    /// Bytes of the segments that hold readings above `sequence`.
    func bytes(after sequence: Int64) -> Int64 {
        state.withLock { $0.segments.reduce(0) { $0 + ($1.lastSequence > sequence ? $1.committedBytes : 0) } }
    }
    /// Readings above the floor.
    var liveReadingCount: Int64 { state.withLock { $0.segments.reduce(0) { $0 + $1.liveReadings } } }
    /// The highest sequence in the log (0 when empty).
    var lastSequence: Int64 { state.withLock { $0.segments.last?.lastSequence ?? 0 } }

    /// Closes the open segment (its data is durable already).
    func closeSegment() {
        state.withLock { s in
            if s.appendDescriptor >= 0 { Glibc.close(s.appendDescriptor) }
            s.appendDescriptor = -1
        }
    }

    deinit { closeSegment() }

    // MARK: frames and files

    static func frameBytes(_ header: FrameHeader, payload: [UInt8]) -> [UInt8] {
        var bytes: [UInt8] = []
        bytes.reserveCapacity(frameHeaderBytes + payload.count)
        func put<T: FixedWidthInteger>(_ value: T) { withUnsafeBytes(of: value.littleEndian) { bytes.append(contentsOf: $0) } }
        put(frameMagic)
        put(UInt32(payload.count))
        put(header.firstSequence)
        put(header.lastSequence)
        put(header.minUTCNanoseconds)
        put(header.maxUTCNanoseconds)
        put(UInt32(clamping: header.readings))
        let checksum = CRC32C.checksum(payload, startingWith: CRC32C.checksum(bytes))
        put(checksum)
        bytes += payload
        return bytes
    }

    /// Zeros to write after a frame of `frameBytes` ending at `frameEnd`: the rest of its page when
    /// that could not hold the next frame, expected to be about as large (then the next commit
    /// starts a fresh page and never rewrites this one); none when the page has room or is full.
    /// Costs at most one frame's size of card space per page.
    static func tailPadding(frameEnd: Int64, frameBytes: Int) -> Int {
        let rest = Int((pageBytes - frameEnd % pageBytes) % pageBytes)
        return rest < frameBytes ? rest : 0
    }

    /// `bytes` (ending with a frame of `frameBytes`) as written at `offset`: with `tailPadding`'s zeros.
    static func padded(_ bytes: [UInt8], frameBytes: Int, writtenAt offset: Int64) -> [UInt8] {
        let zeros = tailPadding(frameEnd: offset + Int64(bytes.count), frameBytes: frameBytes)
        return zeros == 0 ? bytes : bytes + [UInt8](repeating: 0, count: zeros)
    }

    /// Where the frame after `offset` starts: at `offset`, or at the next page boundary (at most
    /// `end`) when the rest of the page is zeros, left by `tailPadding`. A frame begins with its
    /// magic, never with a zero byte, so the two cannot be confused.
    private static func frameStart(_ fd: Int32, at offset: Int64, end: Int64) -> Int64 {
        let gap = (pageBytes - offset % pageBytes) % pageBytes
        guard gap > 0, offset + gap <= end,
              let first = try? readExactly(fd, count: 1, at: offset), first[0] == 0,
              let skipped = try? readExactly(fd, count: Int(gap), at: offset), skipped.allSatisfy({ $0 == 0 })
        else { return offset }
        return offset + gap
    }

    /// Parses a frame header (48 bytes); checks the magic and the payload size, not the checksum.
    static func parseHeader(_ bytes: ArraySlice<UInt8>) throws(FrameError) -> FrameHeader {
        guard bytes.count >= frameHeaderBytes else { throw FrameError("frame header cut short") }
        let base = bytes.startIndex
        func u32(_ at: Int) -> UInt32 { (0..<4).reduce(UInt32(0)) { $0 | UInt32(bytes[base + at + $1]) << (8 * UInt32($1)) } }
        func i64(_ at: Int) -> Int64 {
            Int64(bitPattern: (0..<8).reduce(UInt64(0)) { $0 | UInt64(bytes[base + at + $1]) << (8 * UInt64($1)) })
        }
        guard u32(0) == frameMagic else { throw FrameError("no frame starts here") }
        let length = Int(u32(4))
        guard length <= maxPayloadBytes else { throw FrameError("frame claims \(length) bytes") }
        let readings = Int64(u32(40))
        guard readings >= 1 else { throw FrameError("frame holds no readings") }
        return FrameHeader(payloadBytes: length, firstSequence: i64(8), lastSequence: i64(16), minUTCNanoseconds: i64(24),
                           maxUTCNanoseconds: i64(32), readings: readings, checksum: u32(44))
    }

    struct FrameError: Error, CustomStringConvertible {
        var description: String
        init(_ description: String) { self.description = description }
    }

    private static func readHeader(_ fd: Int32, at offset: Int64) throws -> FrameHeader {
        try parseHeader(try readExactly(fd, count: frameHeaderBytes, at: offset)[...])
    }

    /// Reads and checks one frame: header, bounds within `fileSize`, checksum.
    private static func readFrame(_ fd: Int32, at offset: Int64, fileSize: Int64) throws -> (header: FrameHeader, payload: [UInt8]) {
        let headerBytes = try readExactly(fd, count: frameHeaderBytes, at: offset)
        let header = try parseHeader(headerBytes[...])
        guard offset + Int64(frameHeaderBytes + header.payloadBytes) <= fileSize else { throw FrameError("frame runs past the end") }
        let payload = try readExactly(fd, count: header.payloadBytes, at: offset + Int64(frameHeaderBytes))
        let expected = CRC32C.checksum(payload, startingWith: CRC32C.checksum(headerBytes[0..<44]))
        guard expected == header.checksum else { throw FrameError("frame checksum does not match") }
        return (header, payload)
    }

    private static func readExactly(_ fd: Int32, count: Int, at offset: Int64) throws -> [UInt8] {
        var buffer = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress! + done, count - done, off_t(offset) + off_t(done)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else {
                if n == 0 { throw FrameError("file ends early") }
                throw POSIXFailure(operation: "read", code: errno)
            }
            done += n
        }
        return buffer
    }

    private static func writeAll(_ fd: Int32, _ bytes: [UInt8], at offset: Int64) throws {
        var done = 0
        while done < bytes.count {
            let n = bytes.withUnsafeBytes { pwrite(fd, $0.baseAddress! + done, bytes.count - done, off_t(offset) + off_t(done)) }
            if n < 0 && errno == EINTR { continue }
            guard n > 0 else { throw POSIXFailure(operation: "write", code: n == 0 ? EIO : errno) }
            done += n
        }
    }

    private static func truncate(_ path: String, to size: Int64) throws {
        let fd = Glibc.open(path, O_WRONLY | O_CLOEXEC)
        guard fd >= 0 else { throw POSIXFailure(operation: "open \(path)", code: errno) }
        defer { Glibc.close(fd) }
        guard ftruncate(fd, off_t(size)) == 0, fsync(fd) == 0 else { throw POSIXFailure(operation: "truncate \(path)", code: errno) }
    }

    static func syncDirectory(_ path: String) throws {
        let fd = Glibc.open(path.isEmpty ? "." : path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
        guard fd >= 0 else { throw POSIXFailure(operation: "open the folder \(path)", code: errno) }
        defer { Glibc.close(fd) }
        guard fsync(fd) == 0 else { throw POSIXFailure(operation: "fsync the folder \(path)", code: errno) }
    }

    /// A failed system call on the log's files.
    struct POSIXFailure: Error, CustomStringConvertible {
        var operation: String
        var code: Int32
        var description: String { "could not \(operation): \(String(cString: strerror(code))) (errno \(code))" }
    }
}

/// CRC-32C (Castagnoli), the checksum of the telemetry log's frames.
enum CRC32C {
    private static let table: [UInt32] = (0..<256).map { n in
        (0..<8).reduce(UInt32(n)) { c, _ in c & 1 != 0 ? 0x82F6_3B78 ^ (c >> 1) : c >> 1 }
    }

    static func checksum(_ bytes: some Sequence<UInt8>, startingWith crc: UInt32 = 0) -> UInt32 {
        var c = ~crc
        for byte in bytes { c = table[Int((c ^ UInt32(byte)) & 0xFF)] ^ (c >> 8) }
        return ~c
    }
}
