import Foundation
import Ingest
import Testing
import TestSupport
import Uplink

/// The PostgreSQL store on a full disk (issue 16, faults): the test's database lives in a
/// tablespace on a 64 MiB tmpfs (the new database copies template1, ~8 MB, there), which is then
/// filled up. The batch is refused with 503 busy and Retry-After (SQLSTATE 53100, no
/// acknowledgement); once space returns the retry is stored, once, without a gap, and nothing
/// stored before is lost. Needs root (mount) and the test cluster on this host; skipped with one
/// printed line otherwise.
@Suite("lamp-ingest on PostgreSQL with a full disk")
struct PostgresFullDiskTests {
    @Test("tablespace full: 503 busy, no acknowledgement; after space returns the retry is stored exactly once")
    func tablespaceFull() async throws {
        // A cluster of its own, started from this process, so that it sees the tmpfs mounted here
        // (a test run in a private mount namespace would hide the mount from the shared cluster).
        try await TestPostgres.withOwnCluster { cluster, _ in
            let directory = try temporaryDirectory()
            defer { try? FileManager.default.removeItem(at: directory) }
            try await Self.withTablespaceDatabase(cluster, in: directory) { store, disk in
                try await Self.fillAndRecover(store: store, disk: disk, directory: directory)
            }
        }
    }

    /// A migrated database whose tables live on a 64 MiB tmpfs (a tablespace), or a printed skip.
    static func withTablespaceDatabase(
        _ cluster: PostgresLocation, in directory: URL, _ body: (PostgresBatchStore, _ disk: URL) async throws -> Void
    ) async throws {
        let disk = directory.appendingPathComponent("disk")
        try FileManager.default.createDirectory(at: disk, withIntermediateDirectories: true)
        // The cluster runs as `postgres` when the tests run as root (scripts/postgres-test-cluster).
        let owner = try await ChildProcess.run("/usr/bin/id", ["-u", "postgres"])
        let uid = owner.stdout.trimmingCharacters(in: .whitespacesAndNewlines)
        guard owner.exitCode == 0, getuid() == 0 else {
            print("PostgreSQL full-disk test skipped: needs root and a `postgres` user (mount a tmpfs for a tablespace)")
            return
        }
        // The directory must be reachable by the server's user.
        try FileManager.default.setAttributes([.posixPermissions: 0o755], ofItemAtPath: directory.path)
        let mount = try await ChildProcess.run("/bin/mount", ["-t", "tmpfs", "-o", "size=64m,mode=700,uid=\(uid)", "tmpfs", disk.path])
        guard mount.exitCode == 0 else {
            print("PostgreSQL full-disk test skipped: cannot mount a tmpfs: \(mount.stderr)")
            return
        }
        let suffix = UUID().uuidString.prefix(8).lowercased()
        let tablespace = "lampd_full_\(suffix)"
        let database = "lampd_test_full_\(suffix)"
        do {
            try await Self.admin(cluster, "CREATE TABLESPACE \(tablespace) LOCATION '\(disk.path)'")
            try await Self.admin(cluster, "CREATE DATABASE \(database) TABLESPACE \(tablespace)")
            let location = cluster.with(database: database)
            let migrating = PostgresBatchStore(location: location, poolSize: 1, logger: TestPostgres.logger)
            _ = try await migrating.migrate()
            await migrating.close()
            let store = PostgresBatchStore(location: location, poolSize: 4, logger: TestPostgres.logger)
            do {
                try await body(store, disk)
            } catch {
                await store.close()
                throw error
            }
            await store.close()
        } catch {
            await Self.cleanUp(cluster, database: database, tablespace: tablespace, disk: disk)
            throw error
        }
        await Self.cleanUp(cluster, database: database, tablespace: tablespace, disk: disk)
    }

    static func fillAndRecover(store: PostgresBatchStore, disk: URL, directory: URL) async throws {
        var board = try TestBoard()
        let early = try (0..<3).map { _ in try board.next(count: 3) }
        // Large enough (tens of kB, TOASTed) that storing it must grow the tables' files.
        let large = try board.next(count: 2000)
        try await IngestHarness.withServer(enrolling: [board], store: store, directory: directory) { server in
            for batch in early { #expect(try await server.post(batch.bytes).status == 200) }
            let filler = disk.appendingPathComponent("filler")
            try FullDiskTests.fill(filler)

            let refused = try await server.post(large.bytes)
            #expect(refused.status == 503, "\(refused.json)")
            #expect(refused.json["error"] as? String == "busy")
            #expect(refused.retryAfter == "5")
            #expect(try await server.storedBatches() == 3)

            try FileManager.default.removeItem(at: filler)
            let retried = try await server.post(large.bytes)
            // If the retry fails, what the tmpfs held at that moment says why (a flake seen once under load).
            let space = retried.status == 200 ? "" : (try? await ChildProcess.run("/bin/sh", ["-c", "df -k \(disk.path); du -ak \(disk.path) | sort -n | tail -8"]))?.stdout ?? ""
            #expect(retried.status == 200 && retried.json["status"] as? String == "stored", "\(retried.json)\n\(space)")
            #expect(retried.json["gap"] == nil)
            let again = try await server.post(large.bytes)   // its acknowledgement lost: no second copy
            #expect(again.json["status"] as? String == "duplicate", "\(again.json)")
            let status = try #require(try await store.status().first)
            #expect(status.batches == 4 && status.records == 3 * 3 + 2000 && status.gaps == 0 && status.lastSequence == 4)
        }
    }

    /// One administrative statement; a failure says which and PostgreSQL's own message.
    static func admin(_ cluster: PostgresLocation, _ sql: String) async throws {
        do {
            try await TestPostgres.admin(cluster, sql)
        } catch {
            throw IngestError(.storeFailed, "\(sql): \(String(reflecting: error))")
        }
    }

    static func cleanUp(_ cluster: PostgresLocation, database: String, tablespace: String, disk: URL) async {
        try? FileManager.default.removeItem(at: disk.appendingPathComponent("filler"))
        try? await TestPostgres.admin(cluster, "DROP DATABASE IF EXISTS \(database) WITH (FORCE)")
        try? await TestPostgres.admin(cluster, "DROP TABLESPACE IF EXISTS \(tablespace)")
        _ = try? await ChildProcess.run("/bin/umount", ["-l", disk.path])
    }
}
