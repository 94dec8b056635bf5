import Foundation
import Testing

/// A child process whose stdout is read line by line (lamp-ingest and the fault proxy print
/// `listening on HOST:PORT` when ready).
final class LineProcess: @unchecked Sendable {
    // @unchecked Sendable: the Process is started in init and only signalled afterwards.
    let process = Process()
    /// stdout and stderr go to this file (a pipe with a reader thread hung Foundation's Process here).
    let logFile: URL
    private let stdin = Pipe()

    init(_ executable: String, _ arguments: [String], log: URL) throws {
        logFile = log
        FileManager.default.createFile(atPath: log.path, contents: nil)
        let handle = try FileHandle(forWritingTo: log)
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = stdin
        try process.run()
        try handle.close()
    }

    var output: [String] {
        ((try? String(contentsOf: logFile, encoding: .utf8)) ?? "").split(separator: "\n").map(String.init)
    }

    /// The port from the first `listening on HOST:PORT` line.
    func waitForPort(timeout: Duration = .seconds(20)) async throws -> Int {
        let deadline = ContinuousClock.now + timeout
        while ContinuousClock.now < deadline {
            if let line = output.first(where: { $0.contains("listening on ") }),
               let address = line.components(separatedBy: "listening on ").last?.split(separator: " ").first,
               let port = address.split(separator: ":").last.flatMap({ Int($0) }) {
                return port
            }
            if !process.isRunning { break }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw TestFailure("\(process.executableURL?.lastPathComponent ?? "?") did not start: \(output.suffix(20).joined(separator: "\n"))")
    }

    /// SIGKILL: a child of the test runner may inherit a blocked SIGTERM (Python then never sees it),
    /// and these are test peers, not the system under test.
    func stop() {
        if process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// lampd on the simulated board → (fault proxy, TLS) → lamp-ingest, all real processes.
final class UplinkRig: @unchecked Sendable {
    let directory: URL
    let peers = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("Peers")
    var state: URL { directory.appendingPathComponent("state") }
    var socket: String { directory.appendingPathComponent("control.sock").path }
    var certificates: URL { directory.appendingPathComponent("certs") }
    var ingest: LineProcess?
    var proxy: LineProcess?
    var lampd: Process?
    var ingestPort = 0
    var proxyPort = 0

    init() async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("uplink-e2e-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        let certs = try await ProductProcess.runPath("/usr/bin/env", ["python3", peers.appendingPathComponent("make_test_certs.py").path, certificates.path])
        guard certs.exitCode == 0 else { throw TestFailure("make_test_certs.py: \(certs.stderr)") }
        let initKey = try await ProductProcess.run("lampctl", ["identity", "init", "--state-dir", state.path])
        guard initKey.exitCode == 0 else { throw TestFailure("identity init: \(initKey.stderr)") }
    }

    /// Enrolls the board's key and starts lamp-ingest on `port` (0: any free port).
    func startIngest(port: Int = 0) async throws {
        let show = try await ProductProcess.run("lampctl", ["identity", "show", "--state-dir", state.path, "--json"])
        let publicKey = try #require(try show.jsonObject()?["publicKey"] as? String)
        let keys = directory.appendingPathComponent("enrolled-keys").path
        if !FileManager.default.fileExists(atPath: keys) {
            let enroll = try await ProductProcess.run("lamp-ingest", ["enroll", "--keys", keys, "--device", "e2e-pole", "--public-key", publicKey])
            guard enroll.exitCode == 0 else { throw TestFailure("enroll: \(enroll.stderr)") }
        }
        let process = try LineProcess(ProductProcess.productsDirectory.appendingPathComponent("lamp-ingest").path, [
            "serve", "--db", directory.appendingPathComponent("ingest.sqlite").path, "--keys", keys, "--port", String(port)],
            log: directory.appendingPathComponent("ingest.log"))
        ingest = process
        ingestPort = try await process.waitForPort()
    }

    /// Starts the fault proxy in front of lamp-ingest, serving TLS with `certificate` (server or rogue)
    /// and requiring a client certificate signed by the test CA.
    func startProxy(certificate: String = "server") async throws {
        let process = try LineProcess("/usr/bin/env", [
            "python3", peers.appendingPathComponent("fault_proxy.py").path, "--listen", "127.0.0.1:0",
            "--upstream", "http://127.0.0.1:\(ingestPort)",
            "--tls-cert", certificates.appendingPathComponent("\(certificate).pem").path,
            "--tls-key", certificates.appendingPathComponent("\(certificate).key").path,
            "--tls-client-ca", certificates.appendingPathComponent("ca.pem").path, "--watch-stdin"],
            log: directory.appendingPathComponent("proxy-\(certificate).log"))
        proxy = process
        proxyPort = try await process.waitForPort()
    }

    /// Calls the proxy's control API (over TLS with the client certificate) and returns the JSON answer.
    func proxyControl(_ path: String, post body: String? = nil) async throws -> [String: Any] {
        let script = """
            import json, ssl, sys, urllib.request
            ctx = ssl.create_default_context(cafile=sys.argv[2])
            ctx.check_hostname = False          # the rogue proxy's certificate too: this is the test's own call
            ctx.verify_mode = ssl.CERT_NONE
            ctx.load_cert_chain(sys.argv[3], sys.argv[4])
            data = sys.argv[5].encode() if len(sys.argv) > 5 else None
            req = urllib.request.Request(sys.argv[1], data=data, method="POST" if data is not None else "GET")
            print(urllib.request.urlopen(req, context=ctx, timeout=10).read().decode())
            """
        var arguments = ["python3", "-c", script, "https://127.0.0.1:\(proxyPort)\(path)",
                         certificates.appendingPathComponent("ca.pem").path,
                         certificates.appendingPathComponent("client.pem").path,
                         certificates.appendingPathComponent("client.key").path]
        if let body { arguments.append(body) }
        let result = try await ProductProcess.runPath("/usr/bin/env", arguments)
        guard result.exitCode == 0 else { throw TestFailure("proxy control \(path): \(result.stderr)") }
        return (try result.jsonObject()) ?? [:]
    }

    /// Starts lampd on the simulated board; `uplink` is the `[uplink]` section's body (nil: none).
    func startLampd(uplink: String?) throws {
        let config = directory.appendingPathComponent("lampd.toml")
        var text = """
            [board]
            kind = "simulated"
            id = "e2e-pole"
            [storage]
            directory = "\(state.path)"
            commit_window = "100ms"
            [[modbus.buses]]
            name = "bus"
            rtu = "/dev/ttyS1"
            [[modbus.devices]]
            name = "meter"
            bus = "bus"
            unit = 1
            poll = "500ms"

            """
        for (channel, address) in [("voltage", 0), ("current", 6), ("power", 12), ("apparent-power", 18)] {
            text += """
                [[modbus.devices.registers]]
                channel = "meter.\(channel)"
                table = "input"
                address = \(address)
                type = "f32"
                report = "every-poll"

                """
        }
        text += """
            [gpio.traffic_box]
            chip = "simulated"

            """
        if let uplink { text += "[uplink]\n" + uplink + "\n" }
        try text.write(to: config, atomically: true, encoding: .utf8)
        let process = Process()
        process.executableURL = ProductProcess.productsDirectory.appendingPathComponent("lampd")
        process.arguments = ["--simulate", "--config", config.path, "--socket", socket, "--log-level", "warning"]
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
        lampd = process
    }

    /// The `[uplink]` body pointing at the proxy, with short timeouts for the test.
    var uplinkThroughProxy: String {
        """
        url = "https://127.0.0.1:\(proxyPort)/v1/batches"
        ca_bundle = "\(certificates.appendingPathComponent("ca.pem").path)"
        client_certificate = "\(certificates.appendingPathComponent("client.pem").path)"
        client_key = "\(certificates.appendingPathComponent("client.key").path)"
        batch_interval = "1s"
        max_batch_records = 40
        request_timeout = "2s"
        initial_backoff = "100ms"
        max_backoff = "1s"
        """
    }

    func stopLampd() {
        guard let lampd, lampd.isRunning else { return }
        lampd.terminate()   // SIGTERM: flushes the spool
        lampd.waitUntilExit()
    }

    func lampctl(_ arguments: [String]) async throws -> [String: Any] {
        let result = try await ProductProcess.run("lampctl", arguments + ["--socket", socket, "--json"], timeout: .seconds(60))
        return (try? result.jsonObject()) ?? ["exitCode": Int(result.exitCode), "stderr": result.stderr]
    }

    func waitForLampd() async throws {
        let deadline = ContinuousClock.now + .seconds(20)
        while ContinuousClock.now < deadline {
            if let status = try? await lampctl(["status"]), status["device"] != nil { return }
            try await Task.sleep(for: .milliseconds(200))
        }
        throw TestFailure("lampd did not answer")
    }

    func ingestStatus() async throws -> [String: Any] {
        let result = try await ProductProcess.run("lamp-ingest", ["status", "--db", directory.appendingPathComponent("ingest.sqlite").path, "--json"])
        let parsed = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
        if let list = parsed as? [[String: Any]] { return list.first ?? [:] }
        if let object = parsed as? [String: Any], let list = object["devices"] as? [[String: Any]] { return list.first ?? [:] }
        return [:]
    }

    /// Every record the board ever spooled is either stored upstream or still in the spool, once:
    /// stored + pending == highest spool sequence. Runs lampd without an uplink to read the spool.
    func checkExactlyOnce() async throws -> (stored: Int, pending: Int) {
        stopLampd()
        try startLampd(uplink: nil)
        try await waitForLampd()
        let spool = try await lampctl(["spool", "stats"])
        stopLampd()
        let highest = spool["highestSequence"] as? Int ?? -1
        // Committed records only: highestSequence comes from the same snapshot (buffered records
        // have no sequence yet).
        let pending = (spool["pendingReadings"] as? Int ?? 0) + (spool["pendingEvents"] as? Int ?? 0) + (spool["pendingAlarms"] as? Int ?? 0)
        let dropped = (spool["droppedReadings"] as? Int ?? 0) + (spool["droppedEvents"] as? Int ?? 0)
        #expect(dropped == 0)
        let ingest = try await ingestStatus()
        let stored = ingest["records"] as? Int ?? -1
        // Stopped between the receiver storing a batch and lampd hearing the acknowledgement, the
        // batch is both upstream and still pending here: lampd re-sends it byte for byte at its
        // next start and the receiver answers "duplicate" (docs/uplink.md §6). Count it once.
        var overlap = 0
        let ledgerFile = state.appendingPathComponent("uplink-state.json")
        if let ledger = try? JSONSerialization.jsonObject(with: Data(contentsOf: ledgerFile)) as? [String: Any],
           let inFlight = ledger["inFlight"] as? [String: Any], let sequence = inFlight["sequence"] as? Int,
           let lastStored = ingest["lastSequence"] as? Int, lastStored >= sequence {
            overlap = inFlight["recordCount"] as? Int ?? 0
        }
        #expect(stored + pending - overlap == highest,
                "stored \(stored) + pending \(pending) - in flight and stored \(overlap) != spooled \(highest); spool \(spool); ingest \(ingest); ledger \((try? String(contentsOf: ledgerFile, encoding: .utf8)) ?? "none")")
        return (stored, pending)
    }

    /// The readings lamp-ingest exports: per channel, times strictly increasing (in order, no duplicate).
    func checkExportInOrder() async throws -> Int {
        let result = try await ProductProcess.run("lamp-ingest", ["export", "--db", directory.appendingPathComponent("ingest.sqlite").path])
        #expect(result.exitCode == 0, "\(result.stderr)")
        let records = try #require(try JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [[String: Any]])
        var last: [String: Double] = [:]
        var readings = 0
        for record in records {
            guard let name = record["n"] as? String, let t = record["t"] as? Double, !name.contains("/event/") else { continue }
            readings += 1
            if let previous = last[name] { #expect(t > previous, "\(name) at \(t) after \(previous): duplicate or out of order") }
            last[name] = t
        }
        return readings
    }

    func stop() {
        stopLampd()
        proxy?.stop()
        ingest?.stop()
        try? FileManager.default.removeItem(at: directory)
    }
}

@Suite("Uplink end to end: lampd → fault proxy (TLS) → lamp-ingest", .serialized)
struct UplinkEndToEndTests {
    @Test func everyReadingArrivesExactlyOnceInOrderThroughEveryFault() async throws {
        let rig = try await UplinkRig()
        defer { rig.stop() }
        try await rig.startIngest()
        try await rig.startProxy()
        let faults = """
            [{"kind":"status","status":500},
             {"kind":"status","status":503,"retry_after":"1"},
             {"kind":"reset_mid_body"},
             {"kind":"reset_before_response"},
             {"kind":"hang"},
             {"kind":"garbage","variant":"not_json"},
             {"kind":"garbage","variant":"wrong_sequence"},
             {"kind":"garbage","variant":"truncated"},
             {"kind":"status","status":429,"retry_after":"1"},
             {"kind":"reset_before_response"},
             {"kind":"slow","seconds":0.5}]
            """
        _ = try await rig.proxyControl("/_proxy/faults", post: faults)
        try rig.startLampd(uplink: rig.uplinkThroughProxy)
        try await rig.waitForLampd()

        // Until every fault was used and ten more batches went through cleanly.
        let deadline = ContinuousClock.now + .seconds(90)
        var stats: [String: Any] = [:]
        while ContinuousClock.now < deadline {
            stats = try await rig.proxyControl("/_proxy/stats")
            // …and enough data that order and duplicates mean something (> 100 records upstream).
            if (stats["faulted_total"] as? Int ?? 0) >= 11, (stats["upstream_200"] as? Int ?? 0) >= 10,
               (try await rig.ingestStatus()["records"] as? Int ?? 0) > 120 { break }
            try await Task.sleep(for: .milliseconds(300))
        }
        #expect(stats["faulted_total"] as? Int == 11, "\(stats)")
        let sync = try await rig.lampctl(["sync", "now", "--timeout", "30"])
        #expect(sync["state"] as? String == "idle", "\(sync)")
        let status = try await rig.lampctl(["status"])
        let uplink = try #require(status["uplink"] as? [String: Any])
        #expect(uplink["lastError"] == nil)

        let (stored, _) = try await rig.checkExactlyOnce()
        #expect(stored > 100)
        let ingest = try await rig.ingestStatus()
        #expect(ingest["gaps"] as? Int == 0, "\(ingest)")
        let readings = try await rig.checkExportInOrder()
        #expect(readings > 100)

        // The last batch lampd signed (kept on disk after its acknowledgement), checked by an
        // independent verifier (Python cbor2 + pycose) with the key `lampctl identity show` prints.
        let show = try await ProductProcess.run("lampctl", ["identity", "show", "--state-dir", rig.state.path, "--json"])
        let publicKey = try #require(try show.jsonObject()?["publicKey"] as? String)
        let batch = rig.state.appendingPathComponent("uplink-inflight.cose")
        let verify = rig.peers.appendingPathComponent("uplink_verify.py").path
        let good = try await ProductProcess.runPath("/usr/bin/env", ["python3", verify, batch.path, publicKey])
        #expect(good.exitCode == 0, "\(good.stdout)\(good.stderr)")
        var bytes = try Data(contentsOf: batch)
        bytes[bytes.count / 2] ^= 0x01
        let tampered = rig.directory.appendingPathComponent("tampered.cose")
        try bytes.write(to: tampered)
        let bad = try await ProductProcess.runPath("/usr/bin/env", ["python3", verify, tampered.path, publicKey])
        #expect(bad.exitCode != 0, "a tampered batch verified")
    }

    @Test func aReceiverWithAnUntrustedCertificateIsRefused() async throws {
        let rig = try await UplinkRig()
        defer { rig.stop() }
        try await rig.startIngest()
        try await rig.startProxy(certificate: "rogue")
        try rig.startLampd(uplink: rig.uplinkThroughProxy)
        try await rig.waitForLampd()
        let deadline = ContinuousClock.now + .seconds(30)
        var lastError = ""
        while ContinuousClock.now < deadline {
            let status = try await rig.lampctl(["status"])
            lastError = (status["uplink"] as? [String: Any])?["lastError"] as? String ?? ""
            if !lastError.isEmpty { break }
            try await Task.sleep(for: .milliseconds(300))
        }
        #expect(lastError.contains("TLS"), "\(lastError)")
        let stats = try await rig.proxyControl("/_proxy/stats")
        #expect(stats["forwarded"] as? Int == 0)
        #expect(try await rig.ingestStatus()["records"] == nil)
    }

    /// `max_bytes_per_day` is enforced on lampd's own count of HTTP bytes (it cannot see inside
    /// AsyncHTTPClient); the proxy counts every HTTP byte that really crossed. They must agree.
    @Test func theDailyByteCountMatchesWhatCrossedTheWire() async throws {
        let rig = try await UplinkRig()
        defer { rig.stop() }
        try await rig.startIngest()
        try await rig.startProxy()
        try rig.startLampd(uplink: rig.uplinkThroughProxy)
        try await rig.waitForLampd()
        let deadline = ContinuousClock.now + .seconds(60)
        var compared = false
        while ContinuousClock.now < deadline, !compared {
            try await Task.sleep(for: .milliseconds(500))
            let before = try await rig.proxyControl("/_proxy/stats")
            guard before["upstream_200"] as? Int ?? 0 >= 8 else { continue }
            let uplink = try #require(try await rig.lampctl(["status"])["uplink"] as? [String: Any])
            let after = try await rig.proxyControl("/_proxy/stats")
            // Only when no batch went through while lampd was asked (both proxy reads agree).
            let wire = (after["bytes_from_clients"] as? Int ?? 0) + (after["bytes_to_clients"] as? Int ?? 0)
            guard before["forwarded"] as? Int == after["forwarded"] as? Int,
                  wire == (before["bytes_from_clients"] as? Int ?? 0) + (before["bytes_to_clients"] as? Int ?? 0),
                  (uplink["batchesSent"] as? Int ?? 0) == after["upstream_200"] as? Int else { continue }
            let counted = uplink["bytesToday"] as? Int ?? 0
            #expect(wire > 0)
            #expect(abs(counted - wire) <= wire / 100, "lampd counted \(counted) bytes, the proxy saw \(wire)")
            compared = true
        }
        #expect(compared, "no quiet moment to compare the counts in 60 s")
    }

    @Test func aLongOfflinePeriodIsBufferedThenDrained() async throws {
        let rig = try await UplinkRig()
        defer { rig.stop() }
        // The receiver is down: pick a port, start lampd pointing at it, start the receiver later.
        let port = try Self.freePort()
        try rig.startLampd(uplink: """
            url = "http://127.0.0.1:\(port)/v1/batches"
            batch_interval = "1s"
            max_batch_records = 25
            initial_backoff = "100ms"
            max_backoff = "1s"
            connect_timeout = "500ms"
            request_timeout = "1s"
            """)
        try await rig.waitForLampd()
        try await Task.sleep(for: .seconds(8))
        let offline = try await rig.lampctl(["spool", "stats"])
        let backlog = offline["pendingReadings"] as? Int ?? 0
        #expect(backlog > 40, "\(offline)")
        // Issue 11 #13: nothing crossed the wire, so nothing counts against max_bytes_per_day.
        let uplink = try #require(try await rig.lampctl(["status"])["uplink"] as? [String: Any])
        #expect(uplink["consecutiveFailures"] as? Int ?? 0 > 0, "\(uplink)")
        #expect(uplink["bytesToday"] as? Int == 0, "bytes counted while the receiver was unreachable: \(uplink)")

        try await rig.startIngest(port: port)
        let deadline = ContinuousClock.now + .seconds(60)
        var stored = 0
        while ContinuousClock.now < deadline {
            stored = try await rig.ingestStatus()["records"] as? Int ?? 0
            if stored >= backlog { break }
            try await Task.sleep(for: .milliseconds(300))
        }
        #expect(stored >= backlog, "backlog of \(backlog) readings not drained: \(stored) stored")
        let (total, _) = try await rig.checkExactlyOnce()
        #expect(total >= backlog)
        _ = try await rig.checkExportInOrder()
    }

    static func freePort() throws -> Int {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        defer { close(fd) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        address.sin_port = 0
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        let bound = withUnsafeMutablePointer(to: &address) { pointer in
            pointer.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) == 0 && getsockname(fd, $0, &length) == 0 }
        }
        guard bound else { throw TestFailure("no free port") }
        return Int(UInt16(bigEndian: address.sin_port))
    }
}
