import FleetView
import Foundation
import Hummingbird
import Ingest
import Logging
import Mustache
import ServiceLifecycle

/// The live view on the web (docs/live-view.md): sign-in, the map and the list, pole pages, energy,
/// live updates over server-sent events, changes (acknowledge an alarm, publish a desired state). Its routes go on
/// lamp-ingest's router (`register(on:)`); every one refuses an anonymous request.
public struct LiveView: Sendable {
    public struct Configuration: Sendable {
        public var accounts: AccountsFile
        public var sessionSecret: [UInt8]
        public var auditLog: AuditLog
        /// A tile server URL template (`https://tiles.example/{z}/{x}/{y}.png`); nil: a blank layer.
        public var tileURL: String?
        public var leafletDirectory: String
        /// Signs and stores what the publish forms and API publish (`serve --city-keys DIR`); nil: publishing is off.
        public var publisher: (any DesiredStatePublisher)?

        public init(accounts: AccountsFile, sessionSecret: [UInt8], auditLog: AuditLog, tileURL: String? = nil,
                    leafletDirectory: String = "/usr/share/javascript/leaflet", publisher: (any DesiredStatePublisher)? = nil) {
            self.publisher = publisher
            self.accounts = accounts
            self.sessionSecret = sessionSecret
            self.auditLog = auditLog
            self.tileURL = tileURL
            self.leafletDirectory = leafletDirectory
        }
    }

    let fleet: FleetState
    let store: any BatchStore
    let published: (any PublishedStateStore)?
    let configuration: Configuration
    let sessions: SessionSigner
    let templates: MustacheLibrary
    let files: StaticFiles
    let logger: Logger

    /// Loads the templates and the static files; throws a clear error when Leaflet is missing.
    public init(fleet: FleetState, store: any BatchStore, published: (any PublishedStateStore)? = nil,
                configuration: Configuration, logger: Logger) throws(LiveViewError) {
        self.fleet = fleet
        self.store = store
        self.published = published
        self.configuration = configuration
        self.logger = logger
        sessions = SessionSigner(secret: configuration.sessionSecret)
        var library = MustacheLibrary()
        var own: [String: String] = [:]
        for (name, text) in try Templates.load() {
            if name.hasSuffix(".mustache") {
                do {
                    try library.register(text, named: String(name.dropLast(".mustache".count)))
                } catch {
                    throw LiveViewError("the template \(name) does not parse: \(error)")
                }
            } else {
                own[name] = text
            }
        }
        templates = library
        files = try StaticFiles(leafletDirectory: configuration.leafletDirectory, own: own)
    }

    // MARK: Routes

    /// Adds the live view's routes to `router`.
    public func register(on router: Router<some RequestContext>) {
        router.get("/login") { request, _ in self.loginPage(request, failed: false) }
        router.post("/login") { request, _ in try await self.signIn(request) }
        router.post("/logout") { request, _ in
            guard self.sameOrigin(request) else { return Self.text(.forbidden, "cross-site request refused") }
            var response = Self.redirect("/login")
            response.headers[.setCookie] = "\(SessionSigner.cookieName)=; Path=/; HttpOnly; SameSite=Strict; Max-Age=0"
            return response
        }
        router.get("/") { request, _ in try await self.page(request) { session in try await self.mapPage(session) } }
        router.get("/poles/{device}") { request, context in
            let device = Self.parameter(context, "device")
            return try await self.page(request) { session in try await self.polePage(session, device: device) }
        }
        router.post("/poles/{device}/acknowledge") { request, context in
            let device = Self.parameter(context, "device")
            return try await self.page(request) { session in try await self.acknowledge(request, session: session, device: device) }
        }
        router.post("/poles/{device}/publish") { request, context in
            let device = Self.parameter(context, "device")
            return try await self.page(request) { session in await self.publishForm(request, session: session, device: device) }
        }
        router.get("/publish") { request, _ in try await self.page(request) { session in self.groupPublishPage(session) } }
        router.post("/publish") { request, _ in try await self.page(request) { session in await self.publishForm(request, session: session, device: nil) } }
        router.post("/api/publish") { request, _ in try await self.api(request) { session in await self.publishAPI(request, session: session) } }
        router.get("/api/desired-state/status") { request, _ in try await self.api(request) { _ in await self.statusAPI(request) } }
        router.get("/poles/{device}/energy.csv") { request, context in
            let device = Self.parameter(context, "device")
            return try await self.page(request) { _ in try await self.poleEnergyCSV(device: device) }
        }
        router.get("/energy") { request, _ in try await self.page(request) { session in try await self.energyPage(session, request) } }
        router.get("/energy.csv") { request, _ in try await self.page(request) { _ in try await self.energyCSV(request) } }
        router.get("/api/poles") { request, _ in
            try await self.api(request) { _ in Self.json(try await self.summaries()) }
        }
        router.get("/api/events") { request, _ in try await self.api(request) { _ in self.events() } }
        router.get("/static/{name}") { request, context in
            try await self.page(request) { _ in self.staticFile(Self.parameter(context, "name")) }
        }
        router.get("/static/images/{name}") { request, context in
            // Leaflet's CSS loads its images itself; they are the package's files, no fleet data.
            self.staticFile("images/" + Self.parameter(context, "name"))
        }
    }

    static func parameter(_ context: some RequestContext, _ name: String) -> String {
        let raw = context.parameters.get(name) ?? ""
        return raw.removingPercentEncoding ?? raw
    }

    // MARK: Sessions

    func session(_ request: Request) -> Session? {
        guard let token = request.cookies[SessionSigner.cookieName]?.value, let session = sessions.session(token) else { return nil }
        // An account removed (or its role changed) since sign-in ends its sessions.
        guard let account = try? configuration.accounts.load().first(where: { $0.name == session.name }), account.role == session.role
        else { return nil }
        return session
    }

    /// A page: anonymous requests go to the sign-in page.
    func page(_ request: Request, _ body: (Session) async throws -> Response) async throws -> Response {
        guard let session = session(request) else { return Self.redirect("/login") }
        return try await body(session)
    }

    /// An API: anonymous requests get 401.
    func api(_ request: Request, _ body: (Session) async throws -> Response) async throws -> Response {
        guard let session = session(request) else {
            return Response(status: .unauthorized, headers: [.contentType: "application/json"],
                            body: ResponseBody(byteBuffer: ByteBuffer(string: #"{"error":"live-view.unauthorized","message":"sign in at /login"}"#)))
        }
        return try await body(session)
    }

    /// A change must come from our own pages: a browser's Origin (when sent) names this host.
    func sameOrigin(_ request: Request) -> Bool {
        guard let origin = request.headers[.origin] else { return true }
        guard let host = request.head.authority else { return false }
        return origin == "http://\(host)" || origin == "https://\(host)"
    }

    func signIn(_ request: Request) async throws -> Response {
        guard sameOrigin(request) else { return Self.text(.forbidden, "cross-site request refused") }
        let form = try await Self.form(request)
        let name = form["name"] ?? ""
        let password = form["password"] ?? ""
        let account: Account?
        do {
            account = try configuration.accounts.verify(name: name, password: password)
        } catch {
            logger.error("live view: \(error)")
            return Self.text(.internalServerError, "the accounts file cannot be read: see the server log")
        }
        guard let account else {
            logger.notice("live view: sign-in refused", metadata: ["name": "\(name.prefix(64))"])
            return loginPage(request, failed: true)
        }
        logger.notice("live view: signed in", metadata: ["name": "\(account.name)", "role": "\(account.role.rawValue)"])
        var response = Self.redirect("/")
        response.headers[.setCookie] =
            "\(SessionSigner.cookieName)=\(sessions.token(name: account.name, role: account.role)); Path=/; HttpOnly; SameSite=Strict; Max-Age=\(Int(sessions.lifetime))"
        return response
    }

    // MARK: Pages

    func loginPage(_ request: Request, failed: Bool) -> Response {
        html(failed ? .unauthorized : .ok, render("login", ["failed": failed, "title": "Sign in"]))
    }

    func mapPage(_ session: Session) async throws -> Response {
        let poles = try await summaries()
        var counts: [PoleCondition: Int] = [:]
        for pole in poles { counts[pole.condition, default: 0] += 1 }
        let context: [String: Any] = [
            "title": "Live view", "user": session.name, "role": session.role.rawValue,
            "tileURL": configuration.tileURL ?? "",
            "counts": PoleCondition.allCases.map { ["condition": $0.rawValue, "count": counts[$0] ?? 0] },
            "poles": poles.map(Self.row),
        ]
        return html(.ok, render("map", context))
    }

    /// The lamp level over the history: lampd reports it as `lamp.level`/`lamp.restored` events
    /// (the level before the period first), drawn as a step at each change.
    static func levelPoints(_ history: PoleHistory) -> [HistoryReading] {
        var points: [HistoryReading] = []
        for event in [history.levelBefore].compactMap({ $0 }) + history.events where PoleHistory.isLevelEvent(event.kind) {
            guard let level = event.value, level.isFinite else { continue }
            let time = max(event.time, history.from)
            if let previous = points.last { points.append(HistoryReading(time: time, channel: "lamp.level", value: previous.value)) }
            points.append(HistoryReading(time: time, channel: "lamp.level", value: level))
        }
        if let last = points.last { points.append(HistoryReading(time: history.to, channel: "lamp.level", value: last.value)) }
        return points
    }

    func polePage(_ session: Session, device: String) async throws -> Response {
        guard var summary = await fleet.summary(device: device) else {
            return html(.notFound, render("message", ["title": "No such pole", "message": "No pole \(device) in the inventory or the store."]))
        }
        if let published { summary.publishedScheduleVersion = await Self.publishedVersion(published, device: device) }
        let to = Date()
        let from = to.addingTimeInterval(-3 * 24 * 3600)
        let history = try await PoleHistory.load(device: device, from: from, to: to, store: store)
        let energy = EnergyReport.figures(pole: summary.pole, history: history)
        var latest: [String: HistoryReading] = [:]
        for reading in history.readings where reading.time >= (latest[reading.channel]?.time ?? .distantPast) { latest[reading.channel] = reading }
        let charts = [
            HistoryChart.svg(history.readings, channel: "meter.active_power", title: "Power", unit: "W", from: from, to: to),
            // The meter's energy register is in joules (SenML J): shown in kWh.
            HistoryChart.svg(history.readings.compactMap { $0.channel == "meter.energy" ? HistoryReading(time: $0.time, channel: $0.channel, value: $0.value / 3_600_000) : nil },
                             channel: "meter.energy", title: "Energy", unit: "kWh", from: from, to: to),
            HistoryChart.svg(Self.levelPoints(history), channel: "lamp.level", title: "Lamp level", unit: "%", from: from, to: to),
        ].compactMap { $0 }
        let audit = await configuration.auditLog.entries(device: device)
        let boardAudit = history.events.filter { $0.kind.hasPrefix("audit.") || $0.kind.hasPrefix("lamp.override") }
        var context: [String: Any] = [
            "title": summary.pole.label, "user": session.name, "role": session.role.rawValue,
            "operator": session.role.mayAcknowledge,
            "pole": Self.row(summary),
            "alarms": summary.alarms.map { alarm in
                ["alarm": alarm.alarm, "title": alarm.title, "since": Self.time(alarm.since), "message": alarm.message,
                 "acknowledged": alarm.acknowledged.map { "acknowledged by \($0.by) at \(Self.time($0.at)): \($0.note)" } ?? ""]
            },
            "readings": latest.values.sorted { $0.channel < $1.channel }.map {
                ["channel": $0.channel, "value": Self.number($0.value), "time": Self.time($0.time)]
            },
            // Charts are drawn here from numbers only (HistoryChart): no board text in them.
            "charts": charts.joined(),
            "events": history.events.suffix(200).reversed().map {
                ["time": Self.time($0.time), "kind": $0.kind, "severity": $0.severity, "message": $0.message]
            },
            "audit": audit.map { ["time": Self.time($0.at), "who": $0.user, "what": Self.auditText($0)] }
                + boardAudit.reversed().map { ["time": Self.time($0.time), "who": "board", "what": "\($0.kind): \($0.message)"] },
            "energy": Self.energyRows(energy),
            "energyCSV": "/poles/\(Self.pathComponent(device))/energy.csv",
            "ackHref": "/poles/\(Self.pathComponent(device))/acknowledge",
            "publishedRows": await publishedRows(device: device),
        ]
        context.merge(publishForms(session, action: "/poles/\(Self.pathComponent(device))/publish")) { first, _ in first }
        return html(.ok, render("pole", context))
    }

    func acknowledge(_ request: Request, session: Session, device: String) async throws -> Response {
        guard sameOrigin(request) else { return Self.text(.forbidden, "cross-site request refused") }
        guard session.role.mayAcknowledge else { return Self.text(.forbidden, "only an operator or a scheduler may acknowledge an alarm") }
        let form = try await Self.form(request)
        let alarm = form["alarm"] ?? ""
        let note = String((form["note"] ?? "").prefix(500))
        guard await fleet.summary(device: device)?.alarms.contains(where: { $0.alarm == alarm }) == true else {
            return Self.text(.conflict, "that alarm is not active at that pole (cleared meanwhile?)")
        }
        let now = Date()
        do {
            try await configuration.auditLog.append(AuditLog.Entry(at: now, user: session.name, action: "acknowledge", device: device, alarm: alarm, note: note))
        } catch {
            logger.error("live view: \(error)")
            return Self.text(.internalServerError, "the audit log cannot be written, so nothing was changed: see the server log")
        }
        _ = await fleet.acknowledge(device: device, alarm: alarm, by: session.name, note: note, at: now)
        logger.notice("live view: alarm acknowledged", metadata: ["user": "\(session.name)", "device": "\(device)", "alarm": "\(alarm)"])
        return Self.redirect("/poles/\(Self.pathComponent(device))")
    }

    func energyPage(_ session: Session, _ request: Request) async throws -> Response {
        let (from, to) = Self.period(request)
        let figures = try await EnergyReport.fleet(inventory: fleet.inventory, from: from, to: to, store: store)
        let total = EnergyReport.total(figures, from: from, to: to)
        let context: [String: Any] = [
            "title": "Energy", "user": session.name, "role": session.role.rawValue,
            "from": Self.time(from), "to": Self.time(to), "total": Self.energyRows(total),
            "poles": figures.map { ["device": $0.device ?? "", "href": "/poles/\(Self.pathComponent($0.device ?? ""))",
                                    "measured": Self.number($0.measuredKilowattHours), "hours": Self.number($0.burningHours),
                                    "dimming": Self.number($0.dimmingSavingKilowattHours), "trimming": Self.number($0.trimmingSavingKilowattHours)] },
        ]
        return html(.ok, render("energy", context))
    }

    func energyCSV(_ request: Request) async throws -> Response {
        let (from, to) = Self.period(request)
        let figures = try await EnergyReport.fleet(inventory: fleet.inventory, from: from, to: to, store: store)
        let labels = Dictionary(fleet.inventory.poles.map { ($0.device, $0.label) }, uniquingKeysWith: { first, _ in first })
        return Self.csv(EnergyReport.csv(figures, labels: labels), name: "energy.csv")
    }

    func poleEnergyCSV(device: String) async throws -> Response {
        guard let pole = fleet.inventory[device] else { return Self.text(.notFound, "no pole \(device) in the inventory") }
        let to = Date()
        let from = to.addingTimeInterval(-7 * 24 * 3600)
        let history = try await PoleHistory.load(device: device, from: from, to: to, store: store)
        return Self.csv(EnergyReport.csv([EnergyReport.figures(pole: pole, history: history)], labels: [pole.device: pole.label]), name: "energy-\(Self.fileName(device)).csv")
    }

    /// `?days=N` (1–366, default 7) back from now.
    static func period(_ request: Request) -> (Date, Date) {
        let days = request.uri.queryParameters["days"].flatMap { Int($0) }.map { min(max($0, 1), 366) } ?? 7
        let to = Date()
        return (to.addingTimeInterval(-Double(days) * 24 * 3600), to)
    }

    // MARK: Live

    /// The server-sent events: one `pole` event (a `PoleSummary` as JSON) per change.
    func events() -> Response {
        let fleet = fleet
        let published = published
        var headers = HTTPFields()
        headers[.contentType] = "text/event-stream"
        headers[.cacheControl] = "no-store"
        return Response(status: .ok, headers: headers, body: ResponseBody { writer in
            let changes = await fleet.changes(heartbeat: Self.heartbeat)
            // A server shutting down ends the stream (else it would wait for every open page).
            try await withGracefulShutdownHandler {
                try await writer.write(ByteBuffer(string: ": live\n\n"))
                var iterator = changes.makeAsyncIterator()
                while let change = await iterator.nextChange() {
                    switch change {
                    case .pole(var summary):
                        if let published { summary.publishedScheduleVersion = await Self.publishedVersion(published, device: summary.pole.device) }
                        let data = String(decoding: Self.encode(summary), as: UTF8.self)
                        try await writer.write(ByteBuffer(string: "event: pole\ndata: \(data)\n\n"))
                    case .heartbeat:
                        // Keeps proxies from closing an idle stream; a write to a page that is gone fails and ends it.
                        try await writer.write(ByteBuffer(string: ": heartbeat\n\n"))
                    }
                }
            } onGracefulShutdown: {
                changes.finish()
            }
            try await writer.finish(nil)
        })
    }

    /// How often an idle event stream writes a comment.
    static let heartbeat = Duration.seconds(15)

    func summaries() async throws -> [PoleSummary] {
        var poles = await fleet.snapshot()
        if let published {
            let versions = await Self.publishedVersions(published)
            for index in poles.indices { poles[index].publishedScheduleVersion = versions[poles[index].pole.device] }
        }
        return poles
    }

    /// The newest published scheduler version of one device (nil: none, or the store unreadable):
    /// one indexed query, not every device's history, since it runs for every change a page is sent.
    static func publishedVersion(_ store: any PublishedStateStore, device: String) async -> Int64? {
        guard let version = try? await store.lastVersion(device: device, role: "scheduler"), version > 0 else { return nil }
        return Int64(clamping: version)
    }

    /// The newest published scheduler version per device.
    static func publishedVersions(_ store: any PublishedStateStore) async -> [String: Int64] {
        var versions: [String: Int64] = [:]
        for document in (try? await store.history(device: nil)) ?? [] where document.role == "scheduler" {
            let version = Int64(clamping: document.version)
            if version > versions[document.device] ?? .min { versions[document.device] = version }
        }
        return versions
    }

    // MARK: Rendering

    func render(_ template: String, _ context: [String: Any]) -> String {
        templates.render(context, withTemplate: template) ?? "template \(template) missing"
    }

    func staticFile(_ name: String) -> Response {
        guard let file = files[name] else { return Self.text(.notFound, "no such file") }
        return Response(status: .ok, headers: [.contentType: file.contentType, .cacheControl: "max-age=3600"],
                        body: ResponseBody(byteBuffer: ByteBuffer(bytes: file.bytes)))
    }

    func html(_ status: HTTPResponse.Status, _ text: String) -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "text/html; charset=utf-8"
        headers[.cacheControl] = "no-store"
        headers[.contentSecurityPolicy] = contentSecurityPolicy
        headers[.init("X-Content-Type-Options")!] = "nosniff"
        headers[.init("X-Frame-Options")!] = "DENY"
        headers[.init("Referrer-Policy")!] = "same-origin"
        return Response(status: status, headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    /// Scripts and styles from this server only; map tiles from the configured tile server too.
    var contentSecurityPolicy: String {
        var images = "'self' data:"
        if let tileURL = configuration.tileURL, let url = URL(string: tileURL.replacingOccurrences(of: "{", with: "").replacingOccurrences(of: "}", with: "")),
           let scheme = url.scheme, let host = url.host {
            images += " \(scheme)://\(host)\(url.port.map { ":\($0)" } ?? "")"
        }
        return "default-src 'self'; img-src \(images); script-src 'self'; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'; form-action 'self'"
    }

    static func row(_ summary: PoleSummary) -> [String: Any] {
        [
            "device": summary.pole.device, "label": summary.pole.label,
            "href": "/poles/\(pathComponent(summary.pole.device))",
            "condition": summary.condition.rawValue,
            "order": PoleCondition.allCases.firstIndex(of: summary.condition) ?? 0,
            "level": summary.lampLevelPercent.map { "\(number($0)) %" } ?? "–",
            "reason": summary.lampReason ?? "",
            "alarms": summary.alarms.map { "\($0.title) since \(time($0.since))\($0.acknowledged == nil ? "" : " (acknowledged)")" }.joined(separator: "; "),
            "lastSeen": summary.lastSeen.map(time) ?? "never",
            "lastSeenSort": summary.lastSeen.map { Int64($0.timeIntervalSince1970.rounded(.down)) } ?? 0,
            "schedule": "\(summary.appliedScheduleVersion.map(String.init) ?? "–") / \(summary.publishedScheduleVersion.map(String.init) ?? "–")",
            "inInventory": summary.inInventory,
            "backlog": summary.backlogRecords.map(String.init) ?? "–",
        ]
    }

    static func energyRows(_ figures: EnergyFigures) -> [[String: String]] {
        [
            ["name": "Measured", "value": "\(number(figures.measuredKilowattHours)) kWh", "baseline": "the meter's energy register (meter.energy)"],
            ["name": "Burning hours", "value": "\(number(figures.burningHours)) h", "baseline": "hours with the lamp level above 0"],
            ["name": "Saved by dimming", "value": "\(number(figures.dimmingSavingKilowattHours)) kWh",
             "baseline": "against \(number(figures.fullPowerSameHoursKilowattHours)) kWh: the same burning hours at the rated power"],
            ["name": "Saved by trimmed hours", "value": "\(number(figures.trimmingSavingKilowattHours)) kWh",
             "baseline": "against \(number(figures.duskToDawnHours)) h dusk to dawn at the pole's position, at the rated power"],
            ["name": "Uncontrolled lamp", "value": "\(number(figures.duskToDawnFullPowerKilowattHours)) kWh",
             "baseline": "dusk to dawn at the rated power: what a lamp without control would have used"],
        ]
    }

    /// An audit line as the pole page shows it.
    static func auditText(_ entry: AuditLog.Entry) -> String {
        if entry.action == "publish" {
            return "publish \(entry.documentRole ?? "") version \(entry.version.map(String.init) ?? "?"): \(entry.note)"
        }
        return "\(entry.action) \(entry.alarm): \(entry.note)"
    }

    static func number(_ value: Double) -> String { value.isFinite ? String(format: "%.1f", value) : "–" }

    static func time(_ date: Date) -> String { date.formatted(.iso8601.year().month().day().time(includingFractionalSeconds: false).timeSeparator(.colon)) }

    /// A device id as one URL path component.
    static func pathComponent(_ device: String) -> String {
        var allowed = CharacterSet.urlPathAllowed
        allowed.remove(charactersIn: "/?#;")
        return device.addingPercentEncoding(withAllowedCharacters: allowed) ?? ""
    }

    static func fileName(_ device: String) -> String { String(device.map { $0.isLetter || $0.isNumber || $0 == "-" ? $0 : "_" }.prefix(64)) }

    static func encode(_ value: some Encodable) -> Data {
        let encoder = JSONEncoder()
        encoder.dateEncodingStrategy = .iso8601
        encoder.nonConformingFloatEncodingStrategy = .convertToString(positiveInfinity: "inf", negativeInfinity: "-inf", nan: "nan")
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        return (try? encoder.encode(value)) ?? Data("null".utf8)
    }

    static func json(_ value: some Encodable) -> Response {
        Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                 body: ResponseBody(byteBuffer: ByteBuffer(bytes: encode(value))))
    }

    static func csv(_ text: String, name: String) -> Response {
        Response(status: .ok, headers: [.contentType: "text/csv; charset=utf-8", .contentDisposition: "attachment; filename=\"\(name)\""],
                 body: ResponseBody(byteBuffer: ByteBuffer(string: text)))
    }

    static func text(_ status: HTTPResponse.Status, _ text: String) -> Response {
        Response(status: status, headers: [.contentType: "text/plain; charset=utf-8"], body: ResponseBody(byteBuffer: ByteBuffer(string: text + "\n")))
    }

    static func redirect(_ location: String) -> Response {
        Response(status: .seeOther, headers: [.location: location])
    }

    /// An `application/x-www-form-urlencoded` body of at most 16 KiB.
    static func form(_ request: Request) async throws -> [String: String] {
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: 16 * 1024)
        } catch {
            return [:]
        }
        return formFields(body)
    }

    /// The fields of an `application/x-www-form-urlencoded` body (a repeated name: the last).
    static func formFields(_ body: ByteBuffer) -> [String: String] {
        var fields: [String: String] = [:]
        for pair in String(buffer: body).split(separator: "&") {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            func decode(_ text: Substring) -> String {
                let spaced = text.replacingOccurrences(of: "+", with: " ")
                return spaced.removingPercentEncoding ?? spaced
            }
            guard let key = parts.first else { continue }
            fields[decode(key)] = parts.count > 1 ? decode(parts[1]) : ""
        }
        return fields
    }
}
