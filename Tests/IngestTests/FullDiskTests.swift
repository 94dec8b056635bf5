import Foundation
import Ingest
import Testing
import TestSupport
import Uplink

/// The SQLite store on a full filesystem (a 1 MiB tmpfs, filled up): the batch is refused with
/// 503 busy and Retry-After, never acknowledged; once space returns the retry is stored and
/// nothing stored before is lost. Needs root (mount); skipped with one printed line otherwise.
@Suite("lamp-ingest on a full disk")
struct FullDiskTests {
    @Test("disk full: 503 busy, no acknowledgement; after space returns the retry is stored, nothing lost")
    func diskFull() async throws {
        let directory = try temporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let disk = directory.appendingPathComponent("disk")
        try FileManager.default.createDirectory(at: disk, withIntermediateDirectories: true)
        let mount = try await ChildProcess.run("/bin/mount", ["-t", "tmpfs", "-o", "size=1m", "tmpfs", disk.path])
        guard mount.exitCode == 0 else {
            print("full-disk test skipped: cannot mount a tmpfs (needs root): \(mount.stderr)")
            return
        }
        do {
            try await Self.fillAndRecover(disk: disk, keysIn: directory)
        } catch {
            _ = try? await ChildProcess.run("/bin/umount", ["-l", disk.path])
            throw error
        }
        _ = try await ChildProcess.run("/bin/umount", ["-l", disk.path])
    }

    static func fillAndRecover(disk: URL, keysIn directory: URL) async throws {
        var board = try TestBoard()
        let early = try (0..<3).map { _ in try board.next(count: 3) }
        // Large enough that its commit must grow the WAL file.
        let large = try board.next(count: 2000)
        let store = try IngestStore(path: disk.appendingPathComponent("ingest.sqlite").path)
        try await IngestHarness.withServer(enrolling: [board], store: store, directory: directory) { server in
            for batch in early { #expect(try await server.post(batch.bytes).status == 200) }
            let filler = disk.appendingPathComponent("filler")
            try fill(filler)

            let refused = try await server.post(large.bytes)
            #expect(refused.status == 503, "\(refused.json)")
            #expect(refused.json["error"] as? String == "busy")
            #expect(refused.retryAfter == "5")
            // Says what is wrong and what to do (logged too, for the operator).
            let message = refused.json["message"] as? String ?? ""
            #expect(message.contains("disk holding") && message.contains("is full") && message.contains("free space"), "\(message)")
            #expect(try await server.storedBatches() == 3)

            try FileManager.default.removeItem(at: filler)
            let retried = try await server.post(large.bytes)
            #expect(retried.status == 200 && retried.json["status"] as? String == "stored", "\(retried.json)")
            #expect(retried.json["gap"] == nil)
            let status = try #require(try await store.status().first)
            #expect(status.batches == 4 && status.records == 3 * 3 + 2000 && status.gaps == 0 && status.lastSequence == 4)
        }
    }

    /// Writes `file` until the filesystem has no byte left (ENOSPC at every chunk size down to 1).
    /// Close-on-exec: a child spawned by another test meanwhile must not inherit the descriptor, or
    /// removing the file would not give the space back until that child ends (seen in CI).
    static func fill(_ file: URL) throws {
        let fd = open(file.path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o600)
        try #require(fd >= 0, "cannot create \(file.path)")
        defer { close(fd) }
        for size in [65536, 4096, 512, 1] {
            let chunk = [UInt8](repeating: 0, count: size)
            while chunk.withUnsafeBytes({ write(fd, $0.baseAddress, size) }) > 0 {}
        }
        try #require(errno == ENOSPC, "filling stopped with errno \(errno), not ENOSPC")
    }
}
