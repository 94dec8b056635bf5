import Foundation
import Ingest
import Testing
import Uplink

/// `GET /metrics` (docs/lamp-ingest.md §7): the Prometheus text format, scraped after a few batches.
@Suite("lamp-ingest /metrics")
struct MetricsTests {
    @Test("after a few batches the counters say what happened to each", arguments: StoreKind.allCases)
    func countersAfterBatches(_ kind: StoreKind) async throws {
        var board = try TestBoard()
        let batches = try (0..<4).map { _ in try board.next(count: 3) }
        var stranger = try TestBoard(device: "pole-not-enrolled", seedByte: 77)
        let unknown = try stranger.next()
        try await IngestHarness.withServer(kind, enrolling: [board]) { server in
            for index in [0, 1, 3, 0] {   // the third batch skipped (a gap), the first sent again (duplicate)
                #expect(try await server.post(batches[index].bytes).status == 200)
            }
            #expect(try await server.post(unknown.bytes).status == 401)
            #expect(try await server.post(batches[2].bytes, contentType: "text/plain").status == 415)

            let reply = try await server.get("/metrics")
            #expect(reply.status == 200)
            #expect(reply.contentType?.hasPrefix("text/plain; version=0.0.4") == true)
            let samples = try Self.samples(reply.text)
            #expect(samples["lamp_ingest_batches_accepted_total{status=\"stored\"}"] == 3)
            #expect(samples["lamp_ingest_batches_accepted_total{status=\"duplicate\"}"] == 1)
            #expect(samples["lamp_ingest_duplicates_total"] == 1)
            #expect(samples["lamp_ingest_gaps_total"] == 1)
            #expect(samples["lamp_ingest_batches_refused_total{reason=\"unknown-device\"}"] == 1)
            #expect(samples["lamp_ingest_batches_refused_total{reason=\"unsupported-media-type\"}"] == 1)
            #expect(samples["lamp_ingest_batches_refused_total{reason=\"busy\"}"] == 0)
            #expect(samples["lamp_ingest_accept_seconds_count"] == 4)
            #expect(samples["lamp_ingest_accept_seconds_bucket{le=\"+Inf\"}"] == 4)
            #expect((samples["lamp_ingest_accept_seconds_sum"] ?? 0) > 0)
            // Buckets are cumulative: never fewer below a larger bound.
            let buckets = reply.text.split(separator: "\n").filter { $0.hasPrefix("lamp_ingest_accept_seconds_bucket") }
                .compactMap { Double($0.split(separator: " ").last ?? "") }
            #expect(buckets.count == IngestMetrics.latencyBuckets.count + 1 && buckets == buckets.sorted())
            switch kind {
            case .postgres:
                #expect(samples["lamp_ingest_pool_connections"] == 4)
                #expect(samples["lamp_ingest_pool_connections_in_use"] == 0)
                #expect(samples["lamp_ingest_pool_waiting"] == 0)
            case .sqlite:
                #expect(samples["lamp_ingest_pool_connections"] == nil)
            }
        }
    }

    @Test("each accept latency lands in its bucket; the counters add up; the output is the text format")
    func latencyBucketsAndCounts() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("metrics-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let metrics = IngestMetrics(store: try IngestStore(path: directory.appendingPathComponent("ingest.sqlite").path))
        func ack(_ status: BatchAcknowledgement.Status, sequence: UInt64) -> BatchAcknowledgement {
            BatchAcknowledgement(status: status, device: "pole-7", kid: "21fe31dfa154a261", sequence: sequence, hash: String(repeating: "0", count: 64))
        }
        metrics.accepted(ack(.stored, sequence: 1), after: .milliseconds(3))       // ≤ 5 ms
        metrics.accepted(ack(.stored, sequence: 2), after: .milliseconds(30))      // ≤ 50 ms
        metrics.accepted(ack(.duplicate, sequence: 2), after: .milliseconds(700))  // ≤ 1 s
        metrics.accepted(ack(.stored, sequence: 3), after: .seconds(60))           // only +Inf
        metrics.refused(IngestError(.busy, "the database is down"))
        metrics.refused(IngestError(.busy, "the database is down"))
        metrics.refused(IngestError(.badSignature, "no"))
        let samples = try Self.samples(metrics.text())
        #expect(samples["lamp_ingest_accept_seconds_bucket{le=\"0.005\"}"] == 1)
        #expect(samples["lamp_ingest_accept_seconds_bucket{le=\"0.025\"}"] == 1)
        #expect(samples["lamp_ingest_accept_seconds_bucket{le=\"0.05\"}"] == 2)
        #expect(samples["lamp_ingest_accept_seconds_bucket{le=\"0.5\"}"] == 2)
        #expect(samples["lamp_ingest_accept_seconds_bucket{le=\"1.0\"}"] == 3)
        #expect(samples["lamp_ingest_accept_seconds_bucket{le=\"10.0\"}"] == 3)
        #expect(samples["lamp_ingest_accept_seconds_bucket{le=\"+Inf\"}"] == 4)
        #expect(samples["lamp_ingest_accept_seconds_count"] == 4)
        #expect(abs((samples["lamp_ingest_accept_seconds_sum"] ?? 0) - 60.733) < 1e-9)
        #expect(samples["lamp_ingest_batches_accepted_total{status=\"stored\"}"] == 3)
        #expect(samples["lamp_ingest_batches_accepted_total{status=\"duplicate\"}"] == 1)
        #expect(samples["lamp_ingest_duplicates_total"] == 1)
        #expect(samples["lamp_ingest_gaps_total"] == 0)
        #expect(samples["lamp_ingest_batches_refused_total{reason=\"busy\"}"] == 2)
        #expect(samples["lamp_ingest_batches_refused_total{reason=\"bad-signature\"}"] == 1)
        let reasons = samples.keys.filter { $0.hasPrefix("lamp_ingest_batches_refused_total{") }
        #expect(reasons.count == IngestError.Code.allCases.count)
    }

    /// `name{labels} value` lines by `name{labels}`; every metric has its HELP and TYPE first.
    static func samples(_ text: String) throws -> [String: Double] {
        var samples: [String: Double] = [:]
        var typed: Set<String> = []
        for line in text.split(separator: "\n").map(String.init) {
            if line.hasPrefix("# TYPE ") { typed.insert(String(line.split(separator: " ")[2])); continue }
            if line.hasPrefix("#") { continue }
            let parts = line.split(separator: " ")
            try #require(parts.count == 2, "not a sample line: \(line)")
            let key = String(parts[0])
            let name = String(key.prefix { $0 != "{" })
            #expect(typed.contains(name) || typed.contains { name.hasPrefix($0 + "_") }, "\(name) has no # TYPE before it")
            samples[key] = try #require(Double(String(parts[1])) as Double?, "not a number: \(line)")
        }
        return samples
    }
}
