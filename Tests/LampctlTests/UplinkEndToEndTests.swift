import Foundation
import Testing
import TestSupport

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// lampd on the simulated board → (fault proxy, TLS) → lamp-ingest, all real processes.
///
/// Use `UplinkRig.with { rig in … }`: it holds one of the `ChildSlots` (lampd, lamp-ingest and the
/// proxy count as one) and stops every child when the body ends. Each child is awaited on an
/// event: lamp-ingest's and the proxy's `listening on HOST:PORT`, lampd's READY.
final class UplinkRig: @unchecked Sendable {  // used by one test at a time, in order
    let directory: URL
    let peers = Products.peers
    var state: URL { directory.appendingPathComponent("state") }
    var socket: String { directory.appendingPathComponent("control.sock").path }
    var certificates: URL { directory.appendingPathComponent("certs") }
    var ingest: ChildProcess?
    var proxy: ChildProcess?
    var lampd: SimulatedDaemon?
    var ingestPort = 0
    var proxyPort = 0
    /// Whether the fault proxy serves TLS (its control API is then https too).
    var proxyTLS = true
    /// More children to stop at the end (a second replica, nginx).
    var others: [ChildProcess] = []
    /// lamp-ingest's store options: the SQLite file in `directory` unless a test names another.
    lazy var store = ["--db", directory.appendingPathComponent("ingest.sqlite").path]

    static func with(_ body: (UplinkRig) async throws -> Void) async throws {
        try await ChildSlots.withSlot {
            let rig = try await UplinkRig()
            do {
                try await body(rig)
            } catch {
                await rig.stop()
                throw error
            }
            await rig.stop()
        }
    }

    private init() async throws {
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("uplink-e2e-\(UUID().uuidString.prefix(8))")
        try FileManager.default.createDirectory(at: state, withIntermediateDirectories: true)
        let certs = try await ChildProcess.run("/usr/bin/env", ["python3", peers.appendingPathComponent("make_test_certs.py").path, certificates.path])
        guard certs.exitCode == 0 else { throw TestFailure("make_test_certs.py: \(certs.stderr)") }
        let initKey = try await ChildProcess.run(product: "lampctl", ["identity", "init", "--state-dir", state.path])
        guard initKey.exitCode == 0 else { throw TestFailure("identity init: \(initKey.stderr)") }
    }

    /// Enrolls the board's key and starts lamp-ingest on `port` (0: any free port).
    func startIngest(port: Int = 0, extraArguments: [String] = []) async throws {
        let show = try await ChildProcess.run(product: "lampctl", ["identity", "show", "--state-dir", state.path, "--json"])
        let publicKey = try #require(try show.jsonObject()?["publicKey"] as? String)
        let keys = directory.appendingPathComponent("enrolled-keys").path
        if !FileManager.default.fileExists(atPath: keys) {
            let enroll = try await ChildProcess.run(product: "lamp-ingest", ["enroll", "--keys", keys, "--device", "e2e-pole", "--public-key", publicKey])
            guard enroll.exitCode == 0 else { throw TestFailure("enroll: \(enroll.stderr)") }
        }
        let process = try ChildProcess(executable: Products.path("lamp-ingest"), arguments: [
            "serve"] + store + ["--keys", keys, "--port", String(port)] + extraArguments)
        ingest = process
        ingestPort = try await Self.listeningPort(process)
    }

    /// Starts another `lamp-ingest serve` on the same store and keys (after `startIngest`).
    func startReplica() async throws -> (ChildProcess, port: Int) {
        let keys = directory.appendingPathComponent("enrolled-keys").path
        let process = try ChildProcess(executable: Products.path("lamp-ingest"), arguments: [
            "serve"] + store + ["--keys", keys, "--port", "0"])
        others.append(process)
        return (process, try await Self.listeningPort(process))
    }

    /// Starts the fault proxy in front of lamp-ingest, serving TLS with `certificate` (server or rogue)
    /// and requiring a client certificate signed by the test CA.
    /// With `tls` false it serves plain HTTP (behind nginx, in front of one replica).
    func startProxy(certificate: String = "server", tls: Bool = true) async throws {
        var arguments = [
            "python3", peers.appendingPathComponent("fault_proxy.py").path, "--listen", "127.0.0.1:0",
            "--upstream", "http://127.0.0.1:\(ingestPort)", "--watch-stdin"]
        if tls {
            arguments += [
                "--tls-cert", certificates.appendingPathComponent("\(certificate).pem").path,
                "--tls-key", certificates.appendingPathComponent("\(certificate).key").path,
                "--tls-client-ca", certificates.appendingPathComponent("ca.pem").path]
        }
        proxyTLS = tls
        let process = try ChildProcess(executable: "/usr/bin/env", arguments: arguments, input: .pipe)
        proxy = process
        proxyPort = try await Self.listeningPort(process)
    }

    /// The port from the child's first `listening on HOST:PORT` line.
    static func listeningPort(_ child: ChildProcess) async throws -> Int {
        let line = try await child.transcript.wait(forLineContaining: "listening on ")
        guard let address = line.components(separatedBy: "listening on ").last?.split(separator: " ").first,
              let port = address.split(separator: ":").last.flatMap({ Int($0) }) else {
            throw TestFailure("\(child.name) printed no port: \(line)")
        }
        return port
    }

    /// Waits until lamp-ingest stored its `count`th batch (its log line `batch stored`).
    func waitForStoredBatch(_ count: Int) async throws {
        guard let ingest else { throw TestFailure("lamp-ingest is not running") }
        try await ingest.transcript.wait(forLineContaining: "batch stored", count: count)
    }

    /// How many faults the proxy injected so far (its log line `fault KIND on …`).
    var faultsInjected: Int {
        proxy?.transcript.lines.filter { $0.contains("fault_proxy: fault ") }.count ?? 0
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
        var arguments = ["python3", "-c", script, "\(proxyTLS ? "https" : "http")://127.0.0.1:\(proxyPort)\(path)",
                         certificates.appendingPathComponent("ca.pem").path,
                         certificates.appendingPathComponent("client.pem").path,
                         certificates.appendingPathComponent("client.key").path]
        if let body { arguments.append(body) }
        let result = try await ChildProcess.run("/usr/bin/env", arguments)
        guard result.exitCode == 0 else { throw TestFailure("proxy control \(path): \(result.stderr)") }
        return (try result.jsonObject()) ?? [:]
    }

    /// Starts lampd on the simulated board and returns once it is READY and answers; `uplink` is
    /// the `[uplink]` section's body (nil: none).
    func startLampd(uplink: String?, extraConfiguration: String = "", extraArguments: [String] = []) async throws {
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
        text += extraConfiguration
        try text.write(to: config, atomically: true, encoding: .utf8)
        lampd = try await SimulatedDaemon.launch(
            arguments: ["--simulate", "--config", config.path, "--socket", socket, "--log-level", "notice"] + extraArguments,
            socket: socket, directory: directory)
    }

    /// The `[uplink]` body pointing at the proxy, with short timeouts for the test.
    var uplinkThroughProxy: String { uplink(tlsPort: proxyPort) }

    /// The `[uplink]` body for a TLS receiver (the proxy, nginx) on `tlsPort`, with the test's client certificate.
    func uplink(tlsPort: Int) -> String {
        """
        url = "https://127.0.0.1:\(tlsPort)/v1/batches"
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

    func stopLampd() async throws {
        try await lampd?.stop()   // SIGTERM: flushes the spool
        lampd = nil
    }

    func lampctl(_ arguments: [String]) async throws -> [String: Any] {
        let result = try await ChildProcess.run(product: "lampctl", arguments + ["--socket", socket, "--json"])
        return (try? result.jsonObject()) ?? ["exitCode": Int(result.exitCode), "stderr": result.stderr]
    }

    func ingestStatus() async throws -> [String: Any] {
        let result = try await ChildProcess.run(product: "lamp-ingest", ["status"] + store + ["--json"])
        let parsed = try JSONSerialization.jsonObject(with: Data(result.stdout.utf8))
        if let list = parsed as? [[String: Any]] { return list.first ?? [:] }
        if let object = parsed as? [String: Any], let list = object["devices"] as? [[String: Any]] { return list.first ?? [:] }
        return [:]
    }

    /// Every record the board ever spooled is either stored upstream or still in the spool, once:
    /// stored + pending == highest spool sequence. Runs lampd without an uplink to read the spool.
    func checkExactlyOnce() async throws -> (stored: Int, pending: Int) {
        try await stopLampd()
        try await startLampd(uplink: nil)
        let spool = try await lampctl(["spool", "stats"])
        try await stopLampd()
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
        let result = try await ChildProcess.run(product: "lamp-ingest", ["export"] + store)
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

    func stop() async {
        _ = try? await stopLampd()
        for child in [proxy, ingest].compactMap({ $0 }) + others {
            child.closeInput()
            child.terminate()
            _ = try? await child.waitForExit()
        }
        try? FileManager.default.removeItem(at: directory)
    }
}

@Suite("Uplink end to end: lampd → fault proxy (TLS) → lamp-ingest", .serialized)
struct UplinkEndToEndTests {
    @Test func everyReadingArrivesExactlyOnceInOrderThroughEveryFault() async throws {
        try await UplinkRig.with { rig in
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
            try await rig.startLampd(uplink: rig.uplinkThroughProxy)

            // Until every fault was used and ten more batches went through cleanly: each batch
            // lamp-ingest stores is the moment to look again.
            var stats: [String: Any] = [:]
            var batches = 0
            while true {
                batches += 1
                try await rig.waitForStoredBatch(batches)
                guard batches >= 10, rig.faultsInjected >= 11 else { continue }
                stats = try await rig.proxyControl("/_proxy/stats")
                // …and enough data that order and duplicates mean something (> 100 records upstream).
                if (stats["faulted_total"] as? Int ?? 0) >= 11, (stats["upstream_200"] as? Int ?? 0) >= 10,
                   (try await rig.ingestStatus()["records"] as? Int ?? 0) > 120 { break }
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
            let show = try await ChildProcess.run(product: "lampctl", ["identity", "show", "--state-dir", rig.state.path, "--json"])
            let publicKey = try #require(try show.jsonObject()?["publicKey"] as? String)
            let batch = rig.state.appendingPathComponent("uplink-inflight.cose")
            let verify = rig.peers.appendingPathComponent("uplink_verify.py").path
            let good = try await ChildProcess.run("/usr/bin/env", ["python3", verify, batch.path, publicKey])
            #expect(good.exitCode == 0, "\(good.stdout)\(good.stderr)")
            var bytes = try Data(contentsOf: batch)
            bytes[bytes.count / 2] ^= 0x01
            let tampered = rig.directory.appendingPathComponent("tampered.cose")
            try bytes.write(to: tampered)
            let bad = try await ChildProcess.run("/usr/bin/env", ["python3", verify, tampered.path, publicKey])
            #expect(bad.exitCode != 0, "a tampered batch verified")
        }
    }

    @Test func aReceiverWithAnUntrustedCertificateIsRefused() async throws {
        try await UplinkRig.with { rig in
            try await rig.startIngest()
            try await rig.startProxy(certificate: "rogue")
            try await rig.startLampd(uplink: rig.uplinkThroughProxy)
            let daemon = try #require(rig.lampd)
            let status = try await daemon.waitFor("lampd's uplink to report an error") {
                !((($0["uplink"] as? [String: Any])?["lastError"] as? String) ?? "").isEmpty
            }
            let lastError = (status["uplink"] as? [String: Any])?["lastError"] as? String ?? ""
            #expect(lastError.contains("TLS"), "\(lastError)")
            let stats = try await rig.proxyControl("/_proxy/stats")
            #expect(stats["forwarded"] as? Int == 0)
            #expect(try await rig.ingestStatus()["records"] == nil)
        }
    }

    /// `max_bytes_per_day` is enforced on lampd's own count of HTTP bytes (it cannot see inside
    /// AsyncHTTPClient); the proxy counts every HTTP byte that really crossed. They must agree.
    @Test func theDailyByteCountMatchesWhatCrossedTheWire() async throws {
        try await UplinkRig.with { rig in
            try await rig.startIngest()
            try await rig.startProxy()
            try await rig.startLampd(uplink: rig.uplinkThroughProxy)
            // Right after lamp-ingest stored a batch, the next is a batch interval away: look then.
            let started = ContinuousClock.now
            var compared = false
            var stored = 7
            while !compared, ContinuousClock.now - started < HangGuard.duration {
                stored += 1
                try await rig.waitForStoredBatch(stored)
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
            #expect(compared, "no quiet moment to compare the counts in \(HangGuard.duration)")
        }
    }

    @Test func aLongOfflinePeriodIsBufferedThenDrained() async throws {
        try await UplinkRig.with { rig in
            // The receiver is down: pick a port, start lampd pointing at it, start the receiver later.
            let port = try Self.freePort()
            try await rig.startLampd(uplink: """
                url = "http://127.0.0.1:\(port)/v1/batches"
                batch_interval = "1s"
                max_batch_records = 25
                initial_backoff = "100ms"
                max_backoff = "1s"
                connect_timeout = "500ms"
                request_timeout = "1s"
                """)
            let daemon = try #require(rig.lampd)
            try await daemon.waitFor("a backlog of more than 40 readings", asking: "spool.stats") {
                $0["pendingReadings"] as? Int ?? 0 > 40
            }
            let offline = try await rig.lampctl(["spool", "stats"])
            let backlog = offline["pendingReadings"] as? Int ?? 0
            #expect(backlog > 40, "\(offline)")
            // Issue 11 #13: nothing crossed the wire, so nothing counts against max_bytes_per_day.
            let uplink = try #require(try await rig.lampctl(["status"])["uplink"] as? [String: Any])
            #expect(uplink["consecutiveFailures"] as? Int ?? 0 > 0, "\(uplink)")
            #expect(uplink["bytesToday"] as? Int == 0, "bytes counted while the receiver was unreachable: \(uplink)")

            try await rig.startIngest(port: port)
            var stored = 0
            var batches = 0
            while stored < backlog {
                batches += 1
                try await rig.waitForStoredBatch(batches)
                stored = try await rig.ingestStatus()["records"] as? Int ?? 0
            }
            #expect(stored >= backlog, "backlog of \(backlog) readings not drained: \(stored) stored")
            let (total, _) = try await rig.checkExactlyOnce()
            #expect(total >= backlog)
            _ = try await rig.checkExportInOrder()
        }
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
