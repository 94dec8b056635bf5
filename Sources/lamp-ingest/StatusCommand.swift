import ArgumentParser
import Foundation
import Ingest

/// `lamp-ingest status`: per device, the chain's head, stored batches and gaps.
struct StatusCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show per device: key, last sequence, stored batches and records, gaps."
    )

    @OptionGroup var database: DatabaseOptions

    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false

    func run() async throws {
        let devices: [DeviceStatus]
        do {
            let store = try await database.open(mustExist: true)
            defer { Task { await store.close() } }
            devices = try await store.status()
        } catch {
            throw fail(error)
        }
        if json {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            print(String(decoding: (try? encoder.encode(devices)) ?? Data("[]".utf8), as: UTF8.self))
            return
        }
        if devices.isEmpty {
            print("no batches stored yet")
            return
        }
        let formatter = ISO8601DateFormatter()
        let widths = [20, 18, 10, 9, 10, 6, 0]
        print(row(["device", "kid", "last seq", "batches", "records", "gaps", "last received (UTC)"], widths))
        for d in devices {
            let received = formatter.string(from: Date(timeIntervalSince1970: Double(d.lastReceivedMilliseconds) / 1000))
            let cells: [String] = [d.device, d.kid, "\(d.lastSequence)", "\(d.batches)", "\(d.records)", "\(d.gaps)", received]
            print(row(cells, widths))
        }
    }

    /// The cells left-aligned in columns of `widths` characters (0: as long as the text).
    private func row(_ cells: [String], _ widths: [Int]) -> String {
        zip(cells, widths).map { cell, width in width == 0 ? cell : cell.padding(width) }.joined()
    }
}

extension String {
    /// Left-aligned in a column of `width` characters (at least one space after).
    func padding(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
