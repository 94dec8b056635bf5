import Foundation
import Testing
import TestSupport

/// A throwaway database on the tests' PostgreSQL cluster (`LAMPD_TEST_POSTGRES_URL`, started by
/// scripts/test with scripts/postgres-test-cluster), made and dropped with psql.
enum ThrowawayDatabase {
    /// Runs `body` with the URL of a new, migrated database; nil cluster: skipped (said once), or
    /// a failure when `LAMPD_REQUIRE_POSTGRES=1` (CI).
    static func with(_ body: (String) async throws -> Void) async throws {
        let environment = ProcessInfo.processInfo.environment
        guard let cluster = environment["LAMPD_TEST_POSTGRES_URL"], !cluster.isEmpty else {
            if environment["LAMPD_REQUIRE_POSTGRES"] == "1" {
                Issue.record("PostgreSQL tests required (LAMPD_REQUIRE_POSTGRES=1) but LAMPD_TEST_POSTGRES_URL is not set")
            } else {
                print("PostgreSQL tests skipped: LAMPD_TEST_POSTGRES_URL is not set (scripts/test starts a cluster)")
            }
            return
        }
        let name = "lampd_e2e_\(UUID().uuidString.prefix(8).lowercased())"
        try await psql(cluster, "CREATE DATABASE \(name)")
        // The cluster URL names its administrative database: the same URL with another path.
        let url = try #require(URL(string: cluster))
        var components = try #require(URLComponents(url: url, resolvingAgainstBaseURL: false))
        components.path = "/" + name
        let database = try #require(components.string)
        do {
            let migrate = try await ChildProcess.run(product: "lamp-ingest", ["migrate", "--store", database])
            guard migrate.exitCode == 0 else { throw TestFailure("lamp-ingest migrate: \(migrate.stderr)") }
            try await body(database)
        } catch {
            try? await psql(cluster, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
            throw error
        }
        try await psql(cluster, "DROP DATABASE IF EXISTS \(name) WITH (FORCE)")
    }

    static func psql(_ url: String, _ sql: String) async throws {
        // psql does not know lamp-ingest's sslmode spelling; the cluster has no TLS.
        let plain = url.replacingOccurrences(of: "?sslmode=disable", with: "")
        let result = try await ChildProcess.run("/usr/bin/env", ["psql", "-X", "-q", "-v", "ON_ERROR_STOP=1", plain, "-c", sql])
        guard result.exitCode == 0 else { throw TestFailure("psql \(sql): \(result.stderr)") }
    }
}

/// nginx as a city runs it (deploy/nginx/lamp-ingest.conf): TLS with client certificates ends
/// there, round robin to the replicas.
struct Nginx {
    let process: ChildProcess
    let port: Int

    /// Starts Debian's nginx in the foreground on a free port with deploy/nginx/lamp-ingest.conf,
    /// its replicas' addresses and certificate paths replaced; returns once its worker started.
    static func start(in directory: URL, replicaPorts: [Int], certificates: URL) async throws -> Nginx {
        let binary = "/usr/sbin/nginx"
        guard FileManager.default.isExecutableFile(atPath: binary) else {
            throw TestFailure("\(binary) is missing: scripts/setup --test installs nginx-light")
        }
        let repository = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
        var site = try String(contentsOf: repository.appendingPathComponent("deploy/nginx/lamp-ingest.conf"), encoding: .utf8)
        let port = try UplinkEndToEndTests.freePort()
        let replacements = [
            ("server 127.0.0.1:8443 ", "server 127.0.0.1:\(replicaPorts[0]) "),
            ("server 127.0.0.1:8444 ", "server 127.0.0.1:\(replicaPorts[1]) "),
            ("listen 443 ssl;", "listen 127.0.0.1:\(port) ssl;"),
            ("/etc/ssl/ingest.pem", certificates.appendingPathComponent("server.pem").path),
            ("/etc/ssl/ingest.key", certificates.appendingPathComponent("server.key").path),
            ("/etc/ssl/boards-ca.pem", certificates.appendingPathComponent("ca.pem").path),
        ]
        for (from, to) in replacements {
            try #require(site.contains(from), "deploy/nginx/lamp-ingest.conf no longer has \(from)")
            site = site.replacingOccurrences(of: from, with: to)
        }
        let root = directory.appendingPathComponent("nginx")
        try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
        try site.write(to: root.appendingPathComponent("lamp-ingest.conf"), atomically: true, encoding: .utf8)
        let temp = ["client_body", "proxy", "fastcgi", "uwsgi", "scgi"]
            .map { "    \($0)_temp_path \(root.path)/\($0);" }.joined(separator: "\n")
        try """
            worker_processes 1;
            pid \(root.path)/nginx.pid;
            error_log stderr notice;
            events { worker_connections 64; }
            http {
                access_log off;
            \(temp)
                include \(root.path)/lamp-ingest.conf;
            }

            """.write(to: root.appendingPathComponent("nginx.conf"), atomically: true, encoding: .utf8)
        let process = try ChildProcess(executable: binary, arguments: [
            "-p", root.path, "-e", "stderr", "-c", root.appendingPathComponent("nginx.conf").path, "-g", "daemon off;"])
        try await process.transcript.wait(forLineContaining: "start worker process")
        return Nginx(process: process, port: port)
    }
}

@Suite("lampd → nginx (TLS) → two lamp-ingest replicas → PostgreSQL", .serialized)
struct NginxReplicaTests {
    /// Issue 16: the fault proxy between nginx and replica A, replica B killed with kill -9
    /// mid-run; lampd on the simulated board sends through all of it. Every reading exactly once.
    @Test func everyReadingOnceThroughNginxWithAReplicaKilled() async throws {
        try await ThrowawayDatabase.with { database in
            try await UplinkRig.with { rig in
                rig.store = ["--store", database]
                try await rig.startIngest()                       // replica A, behind the fault proxy
                let (replicaB, portB) = try await rig.startReplica()
                try await rig.startProxy(tls: false)
                let faults = """
                    [{"kind":"status","status":500},
                     {"kind":"reset_before_response"},
                     {"kind":"status","status":503,"retry_after":"1"},
                     {"kind":"reset_mid_body"},
                     {"kind":"garbage","variant":"not_json"},
                     {"kind":"reset_before_response"},
                     {"kind":"garbage","variant":"wrong_sequence"}]
                    """
                _ = try await rig.proxyControl("/_proxy/faults", post: faults)
                let nginx = try await Nginx.start(in: rig.directory, replicaPorts: [rig.proxyPort, portB], certificates: rig.certificates)
                rig.others.append(nginx.process)
                let replicaA = try #require(rig.ingest)
                try await Self.failingIfAnyEnds([nginx.process, replicaA, try #require(rig.proxy)]) {
                    try await rig.startLampd(uplink: rig.uplink(tlsPort: nginx.port))
                    // Round robin: B gets batches too. Kill it after its third.
                    try await replicaB.transcript.wait(forLineContaining: "batch stored", count: 3)
                    replicaB.kill()
                    _ = try await replicaB.waitForExit()
                    // Then every fault used, and ten more batches stored by A alone.
                    let storedByA = replicaA.transcript.lines.filter { $0.contains("batch stored") }.count
                    var wanted = storedByA + 10
                    while true {
                        try await replicaA.transcript.wait(forLineContaining: "batch stored", count: wanted)
                        if rig.faultsInjected >= 7 { break }
                        wanted += 1
                    }
                    let sync = try await rig.lampctl(["sync", "now", "--timeout", "30"])
                    #expect(sync["state"] as? String == "idle", "\(sync)")
                }
                let stats = try await rig.proxyControl("/_proxy/stats")
                #expect(stats["faulted_total"] as? Int == 7, "\(stats)")
                // Replica A's /metrics (scraped on its own address, not through nginx): what it stored,
                // and its pool (the default 10 connections), idle now.
                let scrape = try await ChildProcess.run("/usr/bin/env", [
                    "python3", "-c", "import sys, urllib.request; print(urllib.request.urlopen(sys.argv[1], timeout=10).read().decode())",
                    "http://127.0.0.1:\(rig.ingestPort)/metrics"])
                let metrics = Dictionary(scrape.stdout.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { line in
                    line.split(separator: " ").count == 2 ? (String(line.split(separator: " ")[0]), Double(line.split(separator: " ")[1]) ?? -1) : nil
                }, uniquingKeysWith: { a, _ in a })
                #expect(metrics["lamp_ingest_batches_accepted_total{status=\"stored\"}"] ?? 0 >= 10, "\(scrape.stdout)\(scrape.stderr)")
                #expect(metrics["lamp_ingest_gaps_total"] == 0)
                #expect(metrics["lamp_ingest_pool_connections"] == 10 && metrics["lamp_ingest_pool_connections_in_use"] == 0)
                let (stored, _) = try await rig.checkExactlyOnce()
                #expect(stored > 60)
                let ingest = try await rig.ingestStatus()
                #expect(ingest["gaps"] as? Int == 0, "\(ingest)")
                let readings = try await rig.checkExportInOrder()
                #expect(readings > 60)
            }
        }
    }

    /// Runs `body`; if one of `children` ends first, fails at once with its last output.
    static func failingIfAnyEnds(_ children: [ChildProcess], _ body: @escaping @Sendable () async throws -> Void) async throws {
        try await withThrowingTaskGroup(of: Void.self) { group in
            for child in children {
                group.addTask {
                    // Never matches: throws with the child's last lines when it exits.
                    try await child.transcript.wait(for: "\(child.name) to keep running") { _ in false }
                }
            }
            group.addTask { try await body() }
            defer { group.cancelAll() }
            try await group.next()
        }
    }
}
