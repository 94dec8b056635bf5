import FleetTestSupport
import Foundation
import FleetView
import Hummingbird
import HummingbirdTesting
import Ingest
import TestSupport
import Testing
@testable import LiveView

/// Publishing from the live view (docs/live-view.md "Publishing"): who may publish what, one
/// document per pole of a group, the audit log, the status API, hostile input.
@Suite struct LiveViewPublishTests {
    static let poles = (1...3).map {
        Pole(device: "pole-000\($0)", label: "Rue Royale \($0)", latitudeDegrees: 50.85, longitudeDegrees: 4.36, ratedPowerWatts: 60)
    }
    static let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
    static let schedule = #"{"calendar":{"rules":[]},"programs":[]}"#

    static func headers(_ harness: LiveViewHarness, _ name: String, _ role: AccountRole, json: Bool = false) -> HTTPFields {
        var headers = harness.cookie(name, role: role)
        headers[.contentType] = json ? "application/json" : "application/x-www-form-urlencoded"
        return headers
    }

    static func until(hours: Double) -> String { Date().addingTimeInterval(hours * 3600).formatted(.iso8601) }

    @Test func anOperatorPublishesAnOverrideAsThePolesNextVersionAndItIsAudited() async throws {
        try await LiveViewHarness.with(poles: Self.poles) { harness in
            try harness.published.publish(PublishedDocument(device: "pole-0001", role: "operator", version: 6, document: [1], publishedAt: Date()))
            try await harness.application().test(.router) { client in
                let body = "kind=override&level=100&hours=4&reason=festival+on+the+square"
                try await client.execute(uri: "/poles/pole-0001/publish", method: .post, headers: Self.headers(harness, "alice", .operator),
                                         body: ByteBuffer(string: body)) { response in
                    #expect(response.status == .ok, "\(String(buffer: response.body))")
                    #expect(String(buffer: response.body).contains("pole-0001 operator version 7"))
                }
                try await client.execute(uri: "/poles/pole-0001", method: .get, headers: harness.cookie("bob", role: .viewer)) { response in
                    let page = String(buffer: response.body)
                    #expect(page.contains("<td>operator</td><td>7</td><td>published</td>"), "the pole page shows the published version")
                    #expect(page.contains("publish operator version 7: override 100 %"))
                    #expect(page.contains("A viewer does not publish.") && !page.contains("Publish override</button>"))
                }
                try await client.execute(uri: "/poles/pole-0001", method: .get, headers: harness.cookie("alice", role: .operator)) { response in
                    let page = String(buffer: response.body)
                    #expect(page.contains("Publish override</button>") && !page.contains("Publish schedule</button>"))
                }
                // The status API: the same contract as `lamp-ingest downlink-status --json`.
                try await client.execute(uri: "/api/desired-state/status?device=pole-0001&version=7", method: .get, headers: harness.cookie("bob", role: .viewer)) { response in
                    #expect(response.status == .ok)
                    let rows = try #require(try JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8)) as? [[String: Any]])
                    #expect(rows.count == 1)
                    #expect(rows.first?["status"] as? String == "published" && rows.first?["version"] as? Int == 7 && rows.first?["fetchedAt"] is NSNull)
                }
            }
            let newest = try #require(try harness.published.newest(device: "pole-0001", role: "operator"))
            #expect(newest.version == 7)
            let entries = await harness.view.configuration.auditLog.read().entries
            let entry = try #require(entries.last)
            #expect(entry.action == "publish" && entry.user == "alice" && entry.role == "operator" && entry.device == "pole-0001")
            #expect(entry.documentRole == "operator" && entry.version == 7 && entry.note.contains("festival on the square"))
        }
    }

    @Test func aViewerAnAnonymousVisitorAndACrossSitePostPublishNothing() async throws {
        try await LiveViewHarness.with(poles: Self.poles) { harness in
            try await harness.application().test(.router) { client in
                let body = ByteBuffer(string: "kind=override&level=100&hours=4")
                try await client.execute(uri: "/poles/pole-0001/publish", method: .post, headers: Self.headers(harness, "bob", .viewer), body: body) { response in
                    #expect(response.status == .forbidden)
                }
                try await client.execute(uri: "/api/publish", method: .post, headers: Self.headers(harness, "bob", .viewer, json: true),
                                         body: ByteBuffer(string: #"{"devices":["pole-0001"],"override":{"level":100,"hours":4}}"#)) { response in
                    #expect(response.status == .forbidden)
                }
                try await client.execute(uri: "/poles/pole-0001/publish", method: .post, headers: Self.form, body: body) { response in
                    #expect(response.status == .seeOther && response.headers[.location] == "/login")
                }
                try await client.execute(uri: "/api/publish", method: .post, body: ByteBuffer(string: #"{"device":"pole-0001","clearOverride":true}"#)) { response in
                    #expect(response.status == .unauthorized)
                }
                try await client.execute(uri: "/api/desired-state/status?device=pole-0001", method: .get) { response in
                    #expect(response.status == .unauthorized)
                }
                var crossSite = Self.headers(harness, "carol", .scheduler)
                crossSite[.origin] = "https://evil.example"
                try await client.execute(uri: "/poles/pole-0001/publish", method: .post, headers: crossSite, body: body) { response in
                    #expect(response.status == .forbidden)
                }
                try await client.execute(uri: "/api/publish", method: .post, headers: crossSite,
                                         body: ByteBuffer(string: #"{"device":"pole-0001","clearOverride":true}"#)) { response in
                    #expect(response.status == .forbidden)
                }
            }
            #expect(try harness.published.history(device: nil).isEmpty)
            #expect(await harness.view.configuration.auditLog.read().entries.isEmpty)
        }
    }

    @Test func anOperatorCannotPublishAScheduleAndASchedulerPublishesOneToAGroupOfThree() async throws {
        try await LiveViewHarness.with(poles: Self.poles) { harness in
            try await harness.application().test(.router) { client in
                let request = #"{"devices":["pole-0001","pole-0002","pole-0003"],"schedule":\#(Self.schedule),"defaultLevel":80}"#
                try await client.execute(uri: "/api/publish", method: .post, headers: Self.headers(harness, "alice", .operator, json: true),
                                         body: ByteBuffer(string: request)) { response in
                    #expect(response.status == .forbidden)
                    #expect(String(buffer: response.body).contains("only a scheduler may publish a schedule"))
                }
                #expect(try harness.published.history(device: nil).isEmpty)
                try await client.execute(uri: "/api/publish", method: .post, headers: Self.headers(harness, "carol", .scheduler, json: true),
                                         body: ByteBuffer(string: request)) { response in
                    #expect(response.status == .ok, "\(String(buffer: response.body))")
                    let answer = try #require(try JSONSerialization.jsonObject(with: Data(String(buffer: response.body).utf8)) as? [String: Any])
                    #expect((answer["published"] as? [[String: Any]])?.count == 3)
                }
                // The group form: all poles of the inventory; a scheduler may set overrides too.
                try await client.execute(uri: "/publish", method: .post, headers: Self.headers(harness, "carol", .scheduler),
                                         body: ByteBuffer(string: "kind=override&all=on&level=0&until=\(Self.until(hours: 2).addingPercentEncoding(withAllowedCharacters: .alphanumerics)!)")) { response in
                    #expect(response.status == .ok, "\(String(buffer: response.body))")
                }
            }
            let documents = try harness.published.history(device: nil)
            #expect(documents.filter { $0.role == "scheduler" }.map(\.device) == ["pole-0001", "pole-0002", "pole-0003"])
            #expect(documents.filter { $0.role == "scheduler" }.allSatisfy { $0.version == 1 })
            #expect(documents.filter { $0.role == "operator" }.count == 3)
            #expect(await harness.view.configuration.auditLog.read().entries.filter { $0.action == "publish" }.count == 6)
        }
    }

    /// The remote configuration goes in the scheduler's document, from the API and from the form.
    @Test func aSchedulerPublishesARemoteConfiguration() async throws {
        try await LiveViewHarness.with(poles: Self.poles) { harness in
            try await harness.application().test(.router) { client in
                let request = #"{"device":"pole-0001","defaultLevel":100,"configuration":{"batchIntervalSeconds":300}}"#
                try await client.execute(uri: "/api/publish", method: .post, headers: Self.headers(harness, "alice", .operator, json: true),
                                         body: ByteBuffer(string: request)) { response in
                    #expect(response.status == .forbidden)
                }
                try await client.execute(uri: "/api/publish", method: .post, headers: Self.headers(harness, "carol", .scheduler, json: true),
                                         body: ByteBuffer(string: request)) { response in
                    #expect(response.status == .ok, "\(String(buffer: response.body))")
                }
                let form = "kind=schedule&configuration=" + #"{"maxBytesPerDay":50000}"#.addingPercentEncoding(withAllowedCharacters: .alphanumerics)!
                try await client.execute(uri: "/poles/pole-0002/publish", method: .post, headers: Self.headers(harness, "carol", .scheduler),
                                         body: ByteBuffer(string: form)) { response in
                    #expect(response.status == .ok, "\(String(buffer: response.body))")
                }
            }
            let documents = try harness.published.history(device: nil).map { ($0.device, String(decoding: $0.document, as: UTF8.self)) }
            #expect(documents.contains { $0.0 == "pole-0001" && $0.1 == #"default level 100 %, configuration {"batchIntervalSeconds":300}"# }, "\(documents)")
            #expect(documents.contains { $0.0 == "pole-0002" && $0.1 == #"configuration {"maxBytesPerDay":50000}"# }, "\(documents)")
        }
    }

    @Test func withoutAPublisherThePageSaysPublishingIsOff() async throws {
        try await LiveViewHarness.with(publishing: false) { harness in
            try await harness.application().test(.router) { client in
                try await client.execute(uri: "/poles/pole-0001", method: .get, headers: harness.cookie("alice", role: .operator)) { response in
                    #expect(String(buffer: response.body).contains("Publishing is off: serve was started without --desired-state"))
                }
                try await client.execute(uri: "/poles/pole-0001/publish", method: .post, headers: Self.headers(harness, "alice", .operator),
                                         body: ByteBuffer(string: "kind=clear")) { response in
                    #expect(response.status == .serviceUnavailable)
                }
                try await client.execute(uri: "/api/desired-state/status?device=pole-0001", method: .get, headers: harness.cookie("alice", role: .operator)) { response in
                    #expect(response.status == .serviceUnavailable)
                }
            }
        }
    }

    @Test func hostileInputGetsAClear4xxAndPublishesNothing() async throws {
        let refused: [(String, Bool, HTTPResponse.Status, String)] = [
            ("kind=override&level=300&hours=4", false, .badRequest, "level must be a whole number from 0 to 100"),
            ("kind=override&level=NaN&hours=4", false, .badRequest, "level must be"),
            ("kind=override&level=50&hours=99999999999999999999", false, .badRequest, "hours must be"),
            ("kind=override&level=50", false, .badRequest, "a city override always ends"),
            ("kind=override&level=50&until=2001-01-01T00:00:00Z", false, .badRequest, "already past"),
            ("kind=override&level=50&until=9999-12-31T23:59:59Z", false, .badRequest, "at most 744 hours"),
            ("kind=override&level=50&until=tomorrow", false, .badRequest, "not an ISO 8601"),
            ("kind=schedule&defaultLevel=-1", false, .badRequest, "defaultLevel must be"),
            ("kind=schedule", false, .badRequest, "give a schedule"),
            ("kind=reboot", false, .badRequest, "kind must be"),
            (#"{"device":"pole-0001","override":{"level":1e400,"hours":4}}"#, true, .badRequest, ""),
            (#"{"device":"pole-0001","override":{"level":50.5,"hours":4}}"#, true, .badRequest, "level must be"),
            (#"{"device":"pole-0001","override":{"level":50,"hours":4},"defaultLevel":3}"#, true, .badRequest, "publish them separately"),
            (#"{"device":"pole-0001","override":"#, true, .badRequest, "not a JSON object"),
            (#"{"devices":["pole-9999"],"clearOverride":true}"#, true, .notFound, "no pole pole-9999"),
            (#"{"devices":[],"clearOverride":true}"#, true, .badRequest, "name at least one device"),
            (#"{"devices":[42],"clearOverride":true}"#, true, .badRequest, "devices must be an array of device ids"),
            (#"[1,2,3]"#, true, .badRequest, "not a JSON object"),
            (#"{"device":"pole-0001","configuration":[1]}"#, true, .badRequest, "configuration must be an object"),
        ]
        try await LiveViewHarness.with(poles: Self.poles) { harness in
            try await harness.application().test(.router) { client in
                for (body, json, status, message) in refused {
                    let uri = json ? "/api/publish" : "/poles/pole-0001/publish"
                    try await client.execute(uri: uri, method: .post, headers: Self.headers(harness, "carol", .scheduler, json: json), body: ByteBuffer(string: body)) { response in
                        #expect(response.status == status, "\(body)")
                        #expect(message.isEmpty || String(buffer: response.body).contains(message), "\(body): \(String(buffer: response.body))")
                    }
                }
                // 10 MB: refused as too large, without reading it all.
                let huge = ByteBuffer(repeating: UInt8(ascii: "a"), count: 10 * 1024 * 1024)
                try await client.execute(uri: "/api/publish", method: .post, headers: Self.headers(harness, "carol", .scheduler, json: true), body: huge) { response in
                    #expect(response.status == .contentTooLarge)
                }
            }
            #expect(try harness.published.history(device: nil).isEmpty)
        }
    }

    @Test func seededFuzzOfThePublishFieldsNeverTraps() async throws {
        var random = SeededRandom(seed: 1515)
        let seeds = [
            "kind=override&level=100&hours=4&reason=x", "kind=schedule&schedule=\(Self.schedule)&defaultLevel=50&validHours=168",
            "kind=override&level=1&from=2030-01-01T00:00:00Z&until=2030-01-01T04:00:00Z", "kind=clear&devices=pole-0001,pole-0002",
            #"{"devices":["pole-0001"],"override":{"level":100,"hours":4,"reason":"r"}}"#,
            #"{"all":true,"schedule":{"calendar":{"rules":[]},"programs":[]},"defaultLevel":50,"validHours":8784}"#,
        ]
        let dictionary = [Array("%".utf8), Array("=".utf8), Array("&".utf8), Array("1e308".utf8), Array("-".utf8), Array("99999999999999999999".utf8),
                          Array("NaN".utf8), Array("{".utf8), Array("[".utf8), Array("\"".utf8), [0xff]]
        let inputs = (0..<300).map { index in
            let seed = random.pick(seeds)
            let json = seed.hasPrefix("{")
            let uri = json ? "/api/publish" : (index % 2 == 0 ? "/publish" : "/poles/pole-0001/publish")
            return (uri: uri, json: json, body: random.mutate(Array(seed.utf8), maximumEdits: 6, dictionary: dictionary))
        }
        try await LiveViewHarness.with(poles: Self.poles) { harness in
            try await harness.application().test(.router) { client in
                for (uri, json, body) in inputs {
                    try await client.execute(uri: uri, method: .post, headers: Self.headers(harness, "carol", .scheduler, json: json), body: ByteBuffer(bytes: body)) { response in
                        #expect(response.status == .ok || (400..<500).contains(response.status.code), "\(String(decoding: body, as: UTF8.self))")
                    }
                }
            }
        }
    }
}
