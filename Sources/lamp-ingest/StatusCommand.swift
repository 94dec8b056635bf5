import ArgumentParser
import Foundation
import Ingest

/// `lamp-ingest status`: per device, the chain's head, stored batches and gaps.
struct StatusCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "status",
        abstract: "Show per device: key, last sequence, stored batches and records, gaps."
    )

    @OptionGroup var database: DatabaseOptions

    @Flag(name: .long, help: "Print JSON instead of a table.")
    var json = false

    func run() throws {
        let devices: [DeviceStatus]
        do {
            devices = try database.open(mustExist: true).status()
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
        print("device".padding(20) + "kid".padding(18) + "last seq".padding(10) + "batches".padding(9)
            + "records".padding(10) + "gaps".padding(6) + "last received (UTC)")
        for d in devices {
            let received = formatter.string(from: Date(timeIntervalSince1970: Double(d.lastReceivedMilliseconds) / 1000))
            print(d.device.padding(20) + d.kid.padding(18) + "\(d.lastSequence)".padding(10) + "\(d.batches)".padding(9)
                + "\(d.records)".padding(10) + "\(d.gaps)".padding(6) + received)
        }
    }
}

extension String {
    /// Left-aligned in a column of `width` characters (at least one space after).
    func padding(_ width: Int) -> String {
        count >= width ? self + " " : self + String(repeating: " ", count: width - count)
    }
}
