@testable import LampdConfig
import Foundation
import Testing
import Uplink
@testable import Agent

@Suite("[uplink] configuration")
struct UplinkConfigurationTests {
    static let board = "[board]\nkind = \"simulated\"\nid = \"pole-1\"\n"

    @Test func defaultsAndAFullSection() throws {
        let minimal = try LampdConfiguration.parse(Self.board + "[uplink]\nurl = \"https://ingest.example/v1/batches\"\n")
        let uplink = try #require(minimal.uplink)
        #expect(uplink.batchInterval == .seconds(60) && uplink.compress && uplink.maxBytesPerDay == nil)
        #expect(uplink.caBundlePath == nil)

        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("uplink-cfg-\(UUID().uuidString.prefix(6))")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        for name in ["ca.pem", "client.pem", "client.key"] {
            try Data("x".utf8).write(to: directory.appendingPathComponent(name))
        }
        let file = directory.appendingPathComponent("lampd.toml")
        try (Self.board + """
            [uplink]
            url = "https://ingest.example:8443/v1/batches"
            ca_bundle = "ca.pem"
            client_certificate = "client.pem"
            client_key = "\(directory.path)/client.key"
            batch_interval = "5m"
            max_batch_records = 2000
            max_bytes_per_day = 5000000
            compress = false
            """).write(to: file, atomically: true, encoding: .utf8)
        let full = try #require(try LampdConfiguration.load(path: file.path).uplink)
        #expect(full.caBundlePath == directory.appendingPathComponent("ca.pem").path)
        #expect(full.clientKeyPath == directory.appendingPathComponent("client.key").path)
        #expect(full.batchInterval == .seconds(300) && full.maxBatchRecords == 2000 && full.maxBytesPerDay == 5_000_000 && !full.compress)
    }

    @Test(arguments: [
        ("url = \"http://ingest.example/v1\"", "plain http"),
        ("url = \"ftp://ingest.example/\"", "not supported"),
        ("url = \"not a url\"", "not a URL"),
        ("url = \"https://ingest.example:99999/v1\"", "the port must be 1…65535"),
        ("url = \"https://ingest.example:0/v1\"", "the port must be 1…65535"),
        ("url = \"https://board:secret@ingest.example/v1\"", "user name or password"),
        ("batch_interval = \"1m\"", "url"),
        ("url = \"https://x.example/\"\nclient_certificate = \"/etc/hostname\"", "both client_certificate and client_key"),
        ("url = \"https://x.example/\"\nca_bundle = \"/nonexistent/ca.pem\"", "does not exist"),
        ("url = \"https://x.example/\"\ninitial_backoff = \"10m\"\nmax_backoff = \"1m\"", "must not be shorter"),
        ("url = \"https://x.example/\"\nmax_bytes_per_day = 10", "out of range"),
        ("url = \"https://x.example/\"\nretries = 3", "retries"),
    ])
    func mistakesAreNamedWithTheirLine(body: String, expected: String) {
        do {
            _ = try LampdConfiguration.parse(Self.board + "[uplink]\n" + body + "\n", file: "l.toml")
            Issue.record("accepted \(body)")
        } catch {
            let text = error.errors.map(\.description).joined(separator: "\n")
            #expect(text.contains(expected), "\(text)")
            #expect(text.contains("l.toml:"))
        }
    }

    @Test("a port above 65535 (AsyncHTTPClient traps on it) is refused at the url value's line and column")
    func portOutOfRangeIsNamedWithItsPosition() throws {
        do {
            _ = try LampdConfiguration.parse(Self.board + "[uplink]\nbatch_interval = \"1m\"\nurl = \"https://host:99999/\"\n", file: "l.toml")
            Issue.record("accepted port 99999")
        } catch {
            let problem = try #require(error.errors.first)
            #expect(error.errors.count == 1 && problem.keyPath == "uplink.url", "\(error.errors)")
            #expect(problem.description.hasPrefix("l.toml:6:7"), "\(problem)")
            #expect(problem.message.contains("port 99999") && problem.message.contains("1…65535"), "\(problem)")
        }
    }

    @Test("every url the configuration accepts is one the HTTP transport accepts")
    func acceptedURLsSuitTheTransport() throws {
        for url in ["https://ingest.example:65535/v1", "https://ingest.example:1/", "http://[::1]:8080/v1", "https://10.0.0.1/v1"] {
            let uplink = try #require(try LampdConfiguration.parse(Self.board + "[uplink]\nurl = \"\(url)\"\n").uplink)
            #expect(UplinkConfiguration.endpointProblem(uplink.url) == nil, "\(url)")
        }
    }

    @Test func plainHTTPIsAllowedToThisMachineOrOnRequest() throws {
        #expect(try LampdConfiguration.parse(Self.board + "[uplink]\nurl = \"http://127.0.0.1:9000/v1/batches\"\n").uplink != nil)
        #expect(try LampdConfiguration.parse(Self.board + "[uplink]\nurl = \"http://10.8.0.1/v1\"\nallow_plain_http = true\n").uplink != nil)
    }
}
