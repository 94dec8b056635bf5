import Foundation
import Testing
import TestSupport

/// Runs the built `lampctl astro` (it sits beside the test bundle) the way a technician would.
@Suite("lampctl astro")
struct AstroCommandTests {
    func run(_ arguments: [String], environment: [String: String]? = nil) async throws -> (status: Int32, stdout: String, stderr: String) {
        let result = try await ChildProcess.run(product: "lampctl", ["astro"] + arguments, environment: environment)
        return (result.exitCode, result.stdout, result.stderr)
    }

    @Test("prints the day's events in local time and UTC within 80 columns")
    func text() async throws {
        let result = try await run(["--lat", "52.52", "--lon", "13.405", "--date", "2025-06-21", "--tz", "Europe/Berlin"])
        #expect(result.status == 0)
        #expect(result.stdout.contains("sunrise         04:43:10        02:43:10"))
        #expect(result.stdout.contains("day length      16 h 50 min"))
        #expect(result.stdout.split(separator: "\n").allSatisfy { $0.count <= 80 })
    }

    @Test("says plainly when the sun never rises or sets; negative coordinates work")
    func polar() async throws {
        let night = try await run(["--lat", "69.65", "--lon", "18.96", "--date", "2025-12-21", "--tz", "Europe/Oslo"])
        #expect(night.stdout.contains("sun never rises today"))
        let day = try await run(["--lat", "-77.85", "--lon", "166.67", "--date", "2025-12-21", "--tz", "Antarctica/McMurdo", "--json"])
        let json = try #require(try JSONSerialization.jsonObject(with: Data(day.stdout.utf8)) as? [String: Any])
        let events = try #require(json["events"] as? [String: [String: Any]])
        #expect(events["sunset"]?["state"] as? String == "midnightSun")
        #expect(json["dayLengthSeconds"] as? Double == 86_400)
    }

    @Test("bad latitude, longitude, date or time zone → exit 2 with a clear message")
    func usage() async throws {
        for (arguments, words) in [(["--lat", "91", "--lon", "0"], "--lat '91'"),
                                   (["--lat", "10", "--lon", "-181"], "--lon '-181'"),
                                   (["--lat", "10", "--lon", "0", "--date", "2025-02-30"], "--date '2025-02-30'"),
                                   (["--lat", "10", "--lon", "0", "--tz", "Mars/Olympus"], "--tz 'Mars/Olympus'")] {
            let result = try await run(arguments)
            #expect(result.status == 2, "\(arguments)")
            #expect(result.stderr.contains(words), "\(result.stderr)")
        }
    }

    @Test("without --tz the system's zone is used: TZ as a name, a file or a POSIX rule, else UTC")
    func systemZone() async throws {
        let arguments = ["--lat", "52.52", "--lon", "13.405", "--date", "2025-06-21"]
        for tz in ["Europe/Berlin", ":Europe/Berlin", "/usr/share/zoneinfo/Europe/Berlin", "CET-1CEST,M3.5.0,M10.5.0/3"] {
            let result = try await run(arguments, environment: ["TZ": tz, "PATH": "/usr/bin:/bin"])
            #expect(result.status == 0, "\(tz): \(result.stderr)")
            #expect(result.stdout.contains("sunrise         04:43:10        02:43:10"), "TZ=\(tz): \(result.stdout)")
            #expect(result.stdout.contains("UTC+02:00"), "TZ=\(tz): \(result.stdout)")
        }
        let json = try await run(arguments + ["--json"], environment: ["TZ": "Europe/Berlin"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(json.stdout.utf8)) as? [String: Any])
        #expect(object["timeZone"] as? String == "Europe/Berlin")
        let events = try #require(object["events"] as? [String: [String: Any]])
        #expect(events["sunrise"]?["local"] as? String == "2025-06-21T04:43:10+02:00")
        let utc = try await run(arguments, environment: ["TZ": "UTC"])
        #expect(utc.stdout.contains("sunrise         02:43:10        02:43:10"), "\(utc.stdout)")
    }
}
