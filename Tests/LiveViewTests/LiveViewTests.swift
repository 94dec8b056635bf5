import FleetTestSupport
import Foundation
import FleetView
import Hummingbird
import HummingbirdTesting
import Ingest
import Telemetry
import TestSupport
import Testing
@testable import LiveView

@Suite struct LiveViewTests {
    static let pages = ["/", "/poles/pole-0001", "/energy", "/energy.csv", "/poles/pole-0001/energy.csv", "/static/leaflet.js", "/static/live.js"]
    static let apis = ["/api/poles", "/api/events"]

    @Test func anonymousRequestsAreRefusedOnEveryRoute() async throws {
        try await LiveViewHarness.with { harness in
            try await harness.application().test(.router) { client in
                for path in Self.pages {
                    try await client.execute(uri: path, method: .get) { response in
                        #expect(response.status == .seeOther, "\(path)")
                        #expect(response.headers[.location] == "/login", "\(path)")
                    }
                }
                for path in Self.apis {
                    try await client.execute(uri: path, method: .get) { response in
                        #expect(response.status == .unauthorized, "\(path)")
                    }
                }
                try await client.execute(uri: "/poles/pole-0001/acknowledge", method: .post, body: ByteBuffer(string: "alarm=cabinet.door&note=x")) { response in
                    #expect(response.status == .seeOther)
                }
                // A forged or expired cookie is anonymous too.
                let forged = SessionSigner(secret: [UInt8](repeating: 9, count: 32)).token(name: "alice", role: .operator)
                let expired = harness.view.sessions.token(name: "alice", role: .operator, now: Date(timeIntervalSinceNow: -13 * 3600))
                for token in [forged, expired, "alice.operator.99999999999.00"] {
                    try await client.execute(uri: "/api/poles", method: .get, headers: [.cookie: "\(SessionSigner.cookieName)=\(token)"]) { response in
                        #expect(response.status == .unauthorized)
                    }
                }
                try await client.execute(uri: "/login", method: .get) { response in #expect(response.status == .ok) }
            }
        }
    }

    @Test func aWrongPasswordIsRefusedAndTheRightOneGivesAStrictCookie() async throws {
        try await LiveViewHarness.with { harness in
            try await harness.application().test(.router) { client in
                let form: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
                try await client.execute(uri: "/login", method: .post, headers: form, body: ByteBuffer(string: "name=alice&password=wrong-password")) { response in
                    #expect(response.status == .unauthorized)
                    #expect(response.headers[.setCookie] == nil)
                    #expect(String(buffer: response.body).contains("Wrong name or password"))
                }
                try await client.execute(uri: "/login", method: .post, headers: form, body: ByteBuffer(string: "name=nobody&password=operator-password")) { response in
                    #expect(response.status == .unauthorized)
                }
                let cookie = try await client.execute(
                    uri: "/login", method: .post, headers: form, body: ByteBuffer(string: "name=alice&password=\(LiveViewHarness.operatorPassword)")
                ) { response in
                    #expect(response.status == .seeOther)
                    return response.headers[.setCookie] ?? ""
                }
                #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict"))
                let value = String(cookie.prefix { $0 != ";" })
                try await client.execute(uri: "/api/poles", method: .get, headers: [.cookie: value]) { response in
                    #expect(response.status == .ok)
                    #expect(String(buffer: response.body).contains("pole-0001"))
                }
                // A cross-site sign-in form is refused.
                try await client.execute(uri: "/login", method: .post, headers: [.origin: "https://evil.example"],
                                         body: ByteBuffer(string: "name=alice&password=\(LiveViewHarness.operatorPassword)")) { response in
                    #expect(response.status == .forbidden)
                }
            }
        }
    }

    @Test func onlyAnOperatorAcknowledgesAnAlarmAndItIsAudited() async throws {
        var board = try FleetBoard(device: "pole-0001")
        let opened = try board.next([FleetBoard.event("cabinet.door.opened", at: 1, message: "door opened")])
        try await LiveViewHarness.with(boards: [board]) { harness in
            try await harness.store(opened)
            try await harness.application().test(.router) { client in
                let body = ByteBuffer(string: "alarm=cabinet.door&note=sent+a+technician")
                try await client.execute(uri: "/poles/pole-0001/acknowledge", method: .post, headers: harness.cookie("bob", role: .viewer), body: body) { response in
                    #expect(response.status == .forbidden)
                }
                var crossSite = harness.cookie("alice", role: .operator)
                crossSite[.origin] = "https://evil.example"
                try await client.execute(uri: "/poles/pole-0001/acknowledge", method: .post, headers: crossSite, body: body) { response in
                    #expect(response.status == .forbidden)
                }
                try await client.execute(uri: "/poles/pole-0001/acknowledge", method: .post, headers: harness.cookie("alice", role: .operator), body: body) { response in
                    #expect(response.status == .seeOther)
                }
                try await client.execute(uri: "/poles/pole-0001", method: .get, headers: harness.cookie("bob", role: .viewer)) { response in
                    let page = String(buffer: response.body)
                    #expect(page.contains("acknowledged by alice"))
                    #expect(page.contains("sent a technician"))
                    #expect(!page.contains("Acknowledge</button>"), "a viewer gets no acknowledge form")
                }
            }
            let log = try String(contentsOfFile: harness.directory.appendingPathComponent("audit.log").path, encoding: .utf8)
            #expect(log.contains(#""user":"alice""#) && log.contains(#""alarm":"cabinet.door""#) && log.contains(#""note":"sent a technician""#))
        }
    }

    @Test func aStoredDoorOpenBatchAppearsOnTheEventStream() async throws {
        var board = try FleetBoard(device: "pole-0001")
        let opened = try board.next([FleetBoard.event("cabinet.door", at: 1, value: .boolean(true), message: "cabinet door opened")])
        try await LiveViewHarness.with(boards: [board]) { harness in
            let response = harness.view.events()
            let (chunks, continuation) = AsyncStream.makeStream(of: String.self)
            let writing = Task { try await response.body.write(StreamingWriter(continuation: continuation)) }
            defer { writing.cancel() }
            var iterator = chunks.makeAsyncIterator()
            #expect(await iterator.next() == ": live\n\n")
            try await harness.store(opened)
            let event = try #require(await iterator.next())
            #expect(event.hasPrefix("event: pole\ndata: "))
            #expect(event.contains(#""alarm":"cabinet.door""#) && event.contains("Cabinet door open"))
        }
    }

    /// The meter's energy register is in joules; the pole page's chart says kWh and shows kWh
    /// (it showed the joules as "kWh, max 7200000.0").
    @Test func theEnergyChartShowsKilowattHours() async throws {
        var board = try FleetBoard(device: "pole-0001")
        let hourAgo = Int64(Date().timeIntervalSince(FleetBoard.base)) - 3600
        let batch = try board.next([FleetBoard.reading("meter.energy", 3_600_000, at: hourAgo, unit: .joule),
                                    FleetBoard.reading("meter.energy", 7_200_000, at: hourAgo + 60, unit: .joule)])
        try await LiveViewHarness.with(boards: [board]) { harness in
            try await harness.store(batch)
            try await harness.application().test(.router) { client in
                try await client.execute(uri: "/poles/pole-0001", method: .get, headers: harness.cookie("bob", role: .viewer)) { response in
                    let page = String(buffer: response.body)
                    #expect(page.contains("Energy (kWh, max 2.0)"), "\(page.components(separatedBy: "figcaption").dropFirst().first ?? "no chart")")
                }
            }
        }
    }

    @Test func boardAndInventoryTextIsEscaped() async throws {
        let hostile = "<script>alert(1)</script>\"'&"
        var board = try FleetBoard(device: "pole-0001")
        let batch = try board.next([FleetBoard.event("lamp.failure", at: 1, message: hostile),
                                    FleetBoard.event("lamp.level", at: 2, value: .number(40), message: "lamp → 40 %: \(hostile)")])
        let pole = Pole(device: "pole-0001", label: hostile, latitudeDegrees: 50.85, longitudeDegrees: 4.36, ratedPowerWatts: 60)
        try await LiveViewHarness.with(poles: [pole], boards: [board]) { harness in
            try await harness.store(batch)
            try await harness.application().test(.router) { client in
                for path in ["/", "/poles/pole-0001", "/energy"] {
                    try await client.execute(uri: path, method: .get, headers: harness.cookie("alice", role: .operator)) { response in
                        let page = String(buffer: response.body)
                        #expect(!page.contains("<script>alert"), "\(path)")
                        #expect(path == "/energy" || page.contains("&lt;script&gt;alert(1)&lt;/script&gt;"), "\(path)")
                    }
                }
                try await client.execute(uri: "/poles/%3Cscript%3E", method: .get, headers: harness.cookie("alice", role: .operator)) { response in
                    #expect(response.status == .notFound)
                    #expect(!String(buffer: response.body).contains("<script>"))
                }
            }
        }
    }

    @Test func hostileFormsAndCookiesNeverTrap() async throws {
        var random = SeededRandom(seed: 1717)
        let seeds = ["name=alice&password=x", "alarm=cabinet.door&note=%", "%%%=&&==", "name=%FF%FE&password=%00", String(repeating: "a=b&", count: 5000)]
        let cookies = ["", "\(SessionSigner.cookieName)=", "\(SessionSigner.cookieName)=alice.operator.1.zz", "\(SessionSigner.cookieName)=\(String(repeating: ".", count: 300))",
                       "\(SessionSigner.cookieName)=a.b.c.d.e", "\(SessionSigner.cookieName)=alice.operator.-9223372036854775808.\(String(repeating: "0", count: 64))"]
        let inputs = (0..<150).map { _ in
            (body: random.mutate(Array(random.pick(seeds).utf8), maximumEdits: 8, dictionary: [Array("%".utf8), Array("=".utf8), Array("&".utf8), [0xff]]),
             cookie: String(decoding: random.mutate(Array(random.pick(cookies).utf8), maximumEdits: 3), as: UTF8.self))
        }
        try await LiveViewHarness.with { harness in
            try await harness.application().test(.router) { client in
                for (index, (body, cookie)) in inputs.enumerated() {
                    var headers: HTTPFields = [.contentType: "application/x-www-form-urlencoded"]
                    if !cookie.isEmpty { headers[.cookie] = cookie }
                    // Every tenth goes to /login too: bcrypt makes each sign-in slow on purpose.
                    for path in (index % 10 == 0 ? ["/login"] : []) + ["/poles/pole-0001/acknowledge", "/logout"] {
                        try await client.execute(uri: path, method: .post, headers: headers, body: ByteBuffer(bytes: body)) { response in
                            #expect(response.status.code < 500 || response.status == .internalServerError)
                        }
                    }
                    try await client.execute(uri: "/api/poles", method: .get, headers: headers) { response in
                        #expect(response.status == .unauthorized || response.status == .ok)
                    }
                }
            }
        }
    }
}
