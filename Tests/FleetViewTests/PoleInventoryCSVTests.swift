import FleetView
import Foundation
import Testing
import TestSupport

@Suite struct PoleInventoryCSVTests {
    static let header = "device,label,latitude,longitude,rated_power_w\n"

    func problems(_ text: String) -> [String] {
        do {
            _ = try PoleInventory(csv: text)
            return []
        } catch {
            return error.problems
        }
    }

    @Test func readsQuotedLabelsCRLFAndABOM() throws {
        let text = "\u{FEFF}device,label,latitude,longitude,rated_power_w\r\n"
            + "pole-1,\"Rue Royale, 12\",50.85,4.35,60\r\n"
            + "pole-2,\"the \"\"big\"\" one\",-33.9,151.2,120.5\r\n"
            + "\r\n"
            + "pole-3,,0,-180,40"
        let inventory = try PoleInventory(csv: text)
        #expect(inventory.poles.map(\.device) == ["pole-1", "pole-2", "pole-3"])
        #expect(inventory["pole-1"]?.label == "Rue Royale, 12")
        #expect(inventory["pole-2"]?.label == "the \"big\" one")
        #expect(inventory["pole-2"]?.ratedPowerWatts == 120.5)
        #expect(inventory["pole-3"]?.label == "pole-3")
        #expect(inventory["pole-3"]?.longitudeDegrees == -180)
    }

    @Test func everyProblemNamesItsLine() {
        let text = Self.header
            + "pole-1,A,50.85,4.35,60\n"  // 2 ok
            + "pole-1,B,50.85,4.35,60\n"  // 3 duplicate
            + ",C,50,4,60\n"  // 4 empty device
            + "pole-5,D,nan,4,60\n"  // 5 NaN
            + "pole-6,E,91,4,60\n"  // 6 latitude
            + "pole-7,F,50,180.5,60\n"  // 7 longitude
            + "pole-8,G,50,4,0\n"  // 8 power 0
            + "pole-9,H,50,4,10001\n"  // 9 power too high
            + "pole-10,I,50,4,60,extra\n"  // 10 columns
            + "pole-11,J,50,4,inf\n"  // 11 infinity
            + "pole 12,K,50,4,60\n"  // 12 device id
            + "pole-13,\"L\"x,50,4,60\n"  // 13 text after quote
            + "pole-14,M,1e400,4,60\n"  // 14 overflow → inf
            + "pole-15,N,0x1p3,4,60\n"  // 15 hex
        let found = problems(text)
        let lines = found.compactMap { $0.split(separator: ":").first.map(String.init) }
        #expect(lines == (3...15).map { "line \($0)" }, "\(found)")
        #expect(found[0].contains("listed already on line 2"))
        #expect(found[1].contains("device is empty"))
        #expect(found[3].contains("latitude 91 is out of range"))
        #expect(found[5].contains("above 0 W"))
        #expect(found[7].contains("6 columns, expected 5"))
    }

    @Test func refusesABadHeaderAnUnclosedQuoteAndAnEmptyFile() {
        #expect(problems("id,name,lat,lon,w\npole-1,A,1,2,3\n").first?.hasPrefix("line 1: the header") == true)
        #expect(problems(Self.header + "pole-1,\"Rue Royale,50,4,60\n").first?.contains("never closed") == true)
        #expect(problems("").first?.contains("empty") == true)
        #expect(problems(Self.header + "pole-1,A,-91,4,60\n").first?.contains("out of range") == true)
        #expect(problems(Self.header + "pole-1,A,50,4,-5\n").first?.contains("out of range") == true)
    }

    @Test func listsAtMostTwentyProblems() {
        let text = Self.header + (0..<50).map { "pole-\($0),A,x,4,60\n" }.joined()
        let found = problems(text)
        #expect(found.count == 21)
        #expect(found.last == "… and 30 more problems")
    }

    @Test func refusesAFileTooLargeOrNotUTF8() throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("inventory-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let binary = directory.appendingPathComponent("poles.csv")
        try Data([0xFF, 0xFE, 0x00, 0xC3]).write(to: binary)
        #expect(throws: PoleInventoryError.self) { try PoleInventory(csvFile: binary.path) }
        #expect(throws: PoleInventoryError.self) { try PoleInventory(csvFile: directory.appendingPathComponent("none.csv").path) }
        let good = directory.appendingPathComponent("good.csv")
        try Data((Self.header + "pole-1,A,50,4,60\n").utf8).write(to: good)
        #expect(try PoleInventory(csvFile: good.path).poles.count == 1)
    }

    /// Mutated inventories never trap: each loads or is refused with line-numbered problems.
    @Test func fuzzedInventoriesLoadOrAreRefused() {
        var random = SeededRandom(seed: 17)
        let seed = Array((Self.header + "pole-1,\"Rue Royale, 12\",50.85,4.35,60\r\npole-2,B,-33.9,151.2,120\n").utf8)
        let dictionary: [[UInt8]] = [Array("\"".utf8), Array(",".utf8), Array("\r\n".utf8), Array("nan".utf8), Array("1e999".utf8),
                                     Array("-".utf8), Array("\u{FEFF}".utf8), Array("pole-1".utf8)]
        for _ in 0..<2_000 {
            let bytes = random.mutate(seed, maximumEdits: 6, dictionary: dictionary)
            let text = String(decoding: bytes, as: UTF8.self)
            do {
                let inventory = try PoleInventory(csv: text)
                for pole in inventory.poles {
                    #expect(pole.latitudeDegrees.isFinite && abs(pole.latitudeDegrees) <= 90)
                    #expect(pole.ratedPowerWatts > 0 && pole.ratedPowerWatts <= 10_000)
                }
            } catch {
                #expect(!error.problems.isEmpty)
                #expect(error.problems.allSatisfy { $0.hasPrefix("line ") || $0.hasPrefix("…") })
            }
        }
    }
}
