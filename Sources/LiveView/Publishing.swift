import FleetView
import Foundation
import Hummingbird
import Ingest
import Logging

/// Publishing desired-state documents from the live view (docs/live-view.md "Publishing",
/// docs/downlink.md §9): the pole page's and the group page's forms and `POST /api/publish`,
/// all through one path: the same sign-in, Origin check and audit log as an acknowledgement, the
/// same signer as `lamp-ingest publish` (the configured `DesiredStatePublisher`).
extension LiveView {
    /// Largest request body a publish reads (a schedule is at most 32 KiB; a group a list of ids).
    static let publishBodyLimit = 1 << 20
    /// Longest city override the city side signs (the board also caps it with its own maximum).
    static let maximumOverrideHours = 31 * 24
    /// Most devices in one publish.
    static let maximumPublishDevices = 100_000
    /// Largest schedule JSON (the signed document is at most 32 KiB too).
    static let maximumScheduleBytes = 32 * 1024

    /// A publish refused before anything was signed, with its HTTP status.
    struct PublishRefusal: Error {
        var status: HTTPResponse.Status
        var message: String
        init(_ status: HTTPResponse.Status, _ message: String) {
            self.status = status
            self.message = message
        }
    }

    /// What one publish request came to: the documents stored and, if it stopped, why.
    struct PublishOutcome {
        var status: HTTPResponse.Status
        var published: [PublishedVersion]
        var message: String
    }

    /// Why the forms are absent, or nil when this account may publish something here.
    func publishingOff(_ session: Session) -> String? {
        guard session.role.mayPublish(documentRole: "operator") else { return "A viewer does not publish." }
        guard let publisher = configuration.publisher else {
            return published == nil
                ? "Publishing is off: serve was started without --desired-state (the published-state store)."
                : "Publishing is off: serve was started without --city-keys DIR (operator.key, scheduler.key)."
        }
        let usable = publisher.roles.filter { session.role.mayPublish(documentRole: $0) }
        return usable.isEmpty ? "Publishing is off for your role: --city-keys holds no operator.key." : nil
    }

    /// The template context of the publish forms for `session`.
    func publishForms(_ session: Session, action: String) -> [String: Any] {
        let roles = configuration.publisher?.roles ?? []
        return [
            "publishOff": publishingOff(session) ?? "",
            "publishAction": action,
            "mayOverride": publishingOff(session) == nil && roles.contains("operator"),
            "maySchedule": publishingOff(session) == nil && roles.contains("scheduler") && session.role.mayPublish(documentRole: "scheduler"),
            "maximumOverrideHours": Self.maximumOverrideHours,
        ]
    }

    /// The group publish page: the forms with a device list.
    func groupPublishPage(_ session: Session) -> Response {
        var context = publishForms(session, action: "/publish")
        context["title"] = "Publish"
        context["user"] = session.name
        context["role"] = session.role.rawValue
        context["group"] = true
        context["poleCount"] = fleet.inventory.poles.count
        return html(.ok, render("publish", context))
    }

    /// A form post (pole page: `device`; group page: nil) → a page saying what was published.
    func publishForm(_ request: Request, session: Session, device: String?) async -> Response {
        let outcome = await publish(request, session: session, device: device, json: false)
        let list = outcome.published.map { "\($0.device) \($0.role) version \($0.version)" }.joined(separator: ", ")
        let message = outcome.published.isEmpty ? outcome.message : "Published \(list). \(outcome.message)"
        return html(outcome.status, render("message", [
            "title": outcome.status == .ok ? "Published" : "Not published", "message": message,
            "back": device.map { "/poles/\(Self.pathComponent($0))" } ?? "/publish",
        ]))
    }

    /// `POST /api/publish` → `{"published": [...], "error": "..."}`.
    func publishAPI(_ request: Request, session: Session) async -> Response {
        let outcome = await publish(request, session: session, device: nil, json: true)
        struct Answer: Encodable {
            var published: [PublishedVersion]
            var error: String?
        }
        var response = Self.json(Answer(published: outcome.published, error: outcome.status == .ok ? nil : outcome.message))
        response.status = outcome.status
        return response
    }

    /// `GET /api/desired-state/status?device=D[&version=N][&role=R]`: what became of each published
    /// version (the board's outcome events read from the store first, as `downlink-status --ingest-store` does).
    func statusAPI(_ request: Request) async -> Response {
        func refuse(_ status: HTTPResponse.Status, _ message: String) -> Response {
            var response = Self.json(["error": message])
            response.status = status
            return response
        }
        guard let published else { return refuse(.serviceUnavailable, "no published-state store: serve was started without --desired-state") }
        let query = request.uri.queryParameters
        guard let device = query["device"].map(String.init), (1...64).contains(device.utf8.count) else {
            return refuse(.badRequest, "give ?device=ID (1–64 bytes)")
        }
        var version: UInt64?
        if let text = query["version"] {
            guard let number = UInt64(text), number >= 1 else { return refuse(.badRequest, "version must be a whole number from 1") }
            version = number
        }
        let role = query["role"].map(String.init)
        do {
            try await DownlinkOutcomes.record(from: store, device: device, into: published)
        } catch {
            logger.warning("live view: the boards' outcome events could not be read: \(error.message)")
        }
        do {
            let rows = try await published.history(device: device)
                .filter { version == nil || $0.version == version } .filter { role == nil || $0.role == role }
            return Response(status: .ok, headers: [.contentType: "application/json", .cacheControl: "no-store"],
                            body: ResponseBody(byteBuffer: ByteBuffer(bytes: PublishedStatus.json(rows.map(PublishedStatus.init)))))
        } catch {
            logger.error("live view: \(error.message)")
            return refuse(.internalServerError, "the published-state store cannot be read: see the server log")
        }
    }

    /// The pole page's "Desired state" rows: the newest published versions, newest first.
    func publishedRows(device: String) async -> [[String: String]] {
        guard let published, let history = try? await published.history(device: device) else { return [] }
        return history.sorted { $0.publishedAt > $1.publishedAt }.prefix(10).map {
            ["role": $0.role, "version": String($0.version), "status": $0.status, "publishedAt": Self.time($0.publishedAt)]
        }
    }

    // MARK: The one path

    func publish(_ request: Request, session: Session, device: String?, json: Bool) async -> PublishOutcome {
        do {
            return try await checkedPublish(request, session: session, device: device, json: json)
        } catch {
            return PublishOutcome(status: error.status, published: [], message: error.message)
        }
    }

    /// Refuses (with its status) before anything is signed, or publishes and audits.
    func checkedPublish(_ request: Request, session: Session, device: String?, json: Bool) async throws(PublishRefusal) -> PublishOutcome {
        guard sameOrigin(request) else { throw PublishRefusal(.forbidden, "cross-site request refused") }
        guard session.role.mayPublish(documentRole: "operator") else { throw PublishRefusal(.forbidden, "a viewer may not publish") }
        guard let publisher = configuration.publisher else { throw PublishRefusal(.serviceUnavailable, publishingOff(session) ?? "publishing is off") }
        let body: ByteBuffer
        do {
            body = try await request.body.collect(upTo: Self.publishBodyLimit)
        } catch {
            throw PublishRefusal(.contentTooLarge, "the request body is larger than \(Self.publishBodyLimit) bytes")
        }
        var fields = try json ? Self.jsonFields(Data(body.readableBytesView)) : Self.formFields(body)
        if let device {
            fields["devices"] = device
            fields["all"] = nil
        }
        let order = try await order(fields, now: Date())
        let role = order.content.role
        guard session.role.mayPublish(documentRole: role) else {
            throw PublishRefusal(.forbidden, "only a scheduler may publish a schedule or the default level; an operator publishes overrides")
        }
        guard publisher.roles.contains(role) else {
            throw PublishRefusal(.serviceUnavailable, "publishing \(role) documents is off: --city-keys holds no \(role).key")
        }
        let result = await publisher.publish(order)
        let now = Date()
        let entries = result.published.map {
            AuditLog.Entry(at: now, user: session.name, action: "publish", device: $0.device, alarm: "", note: order.content.summary,
                           role: session.role.rawValue, documentRole: $0.role, version: $0.version)
        }
        logger.notice("live view: published", metadata: [
            "user": "\(session.name)", "role": "\(session.role.rawValue)", "what": "\(order.content.summary)",
            "documents": "\(result.published.count)", "of": "\(order.devices.count)"])
        do {
            try await configuration.auditLog.append(contentsOf: entries)
        } catch {
            logger.error("live view: published but not audited: \(error) — \(entries.map { "\($0.device) v\($0.version ?? 0)" })")
            return PublishOutcome(status: .internalServerError, published: result.published,
                                  message: "published, but the audit log cannot be written: see the server log")
        }
        if let error = result.error {
            let stopped = order.devices.count - result.published.count
            return PublishOutcome(status: HTTPResponse.Status(code: error.httpStatus), published: result.published,
                                  message: "stopped with \(stopped) of \(order.devices.count) device(s) not published: \(error.message)")
        }
        return PublishOutcome(status: .ok, published: result.published, message: "")
    }

    /// The order the fields describe, every value checked (docs/live-view.md "Publishing").
    func order(_ fields: [String: String], now: Date) async throws(PublishRefusal) -> PublishOrder {
        func field(_ name: String) -> String? {
            guard let value = fields[name]?.trimmingCharacters(in: .whitespacesAndNewlines), !value.isEmpty else { return nil }
            return value
        }
        let nowSeconds = Int64(now.timeIntervalSince1970.rounded(.down))
        let validHours = try Self.integer(field("validHours"), "validHours", in: PublishOrder.validHoursRange) ?? 168
        let content: PublishedContent
        switch field("kind") ?? "" {
        case "override":
            guard let level = try Self.integer(field("level"), "level", in: 0...100) else {
                throw PublishRefusal(.badRequest, "give the override level, 0–100 %")
            }
            let start = try Self.instant(field("from"), "from") ?? nowSeconds
            let end: Int64
            if let until = try Self.instant(field("until"), "until") {
                end = until
            } else if let hours = try Self.integer(field("hours"), "hours", in: 1...Self.maximumOverrideHours) {
                end = start + Int64(hours) * 3600
            } else {
                throw PublishRefusal(.badRequest, "give until (ISO 8601 UTC, e.g. 2026-10-01T23:00:00Z) or hours (1–\(Self.maximumOverrideHours)): a city override always ends")
            }
            guard end > nowSeconds else { throw PublishRefusal(.badRequest, "the override's end is already past") }
            guard end > start else { throw PublishRefusal(.badRequest, "the override must end after it starts") }
            guard end - start <= Int64(Self.maximumOverrideHours) * 3600 else {
                throw PublishRefusal(.badRequest, "an override lasts at most \(Self.maximumOverrideHours) hours (the board may allow less)")
            }
            let reason = field("reason")
            guard (reason?.utf8.count ?? 0) <= 256 else { throw PublishRefusal(.badRequest, "the reason is longer than 256 bytes") }
            content = .override(levelPercent: level, startSeconds: start, expirySeconds: end, reason: reason)
        case "clear":
            content = .clearOverride
        case "schedule":
            let level = try Self.integer(field("defaultLevel"), "defaultLevel", in: 0...100)
            let schedule = field("schedule").map { [UInt8]($0.utf8) }
            let configuration = field("configuration").map { [UInt8]($0.utf8) }
            guard (schedule?.count ?? 0) + (configuration?.count ?? 0) <= Self.maximumScheduleBytes else {
                throw PublishRefusal(.contentTooLarge, "the schedule and configuration JSON are larger than \(Self.maximumScheduleBytes) bytes")
            }
            guard schedule != nil || level != nil || configuration != nil else {
                throw PublishRefusal(.badRequest, "give a schedule (JSON), a default level (0–100), a configuration (JSON), or several")
            }
            content = .schedule(json: schedule, defaultLevelPercent: level, configurationJSON: configuration)
        default:
            throw PublishRefusal(.badRequest, "kind must be override, clear or schedule (JSON: an \"override\" object, \"clearOverride\": true, or \"schedule\"/\"defaultLevel\")")
        }
        return PublishOrder(devices: try await targets(fields), content: content, validHours: validHours)
    }

    /// The devices: `devices` (ids separated by spaces, commas or lines) or `all` (every inventory pole);
    /// each must be a pole of the inventory or a board heard from.
    func targets(_ fields: [String: String]) async throws(PublishRefusal) -> [String] {
        var devices: [String]
        if ["on", "true", "1"].contains(fields["all"] ?? "") {
            devices = fleet.inventory.poles.map(\.device)
        } else {
            var seen = Set<String>()
            devices = (fields["devices"] ?? "").split(whereSeparator: { $0 == "," || $0.isWhitespace }).map(String.init).filter { seen.insert($0).inserted }
        }
        guard !devices.isEmpty else { throw PublishRefusal(.badRequest, "name at least one device (devices, or all)") }
        guard devices.count <= Self.maximumPublishDevices else {
            throw PublishRefusal(.contentTooLarge, "at most \(Self.maximumPublishDevices) devices in one publish")
        }
        for device in devices where fleet.inventory[device] == nil {
            guard device.utf8.count <= 64, await fleet.summary(device: device) != nil else {
                throw PublishRefusal(.notFound, "no pole \(device.prefix(64)) in the inventory or the store: check the device id (nothing was published)")
            }
        }
        return devices
    }

    /// A whole number in `range`; nil when absent.
    static func integer(_ text: String?, _ name: String, in range: ClosedRange<Int>) throws(PublishRefusal) -> Int? {
        guard let text else { return nil }
        guard let value = Int(text), range.contains(value) else {
            throw PublishRefusal(.badRequest, "\(name) must be a whole number from \(range.lowerBound) to \(range.upperBound), not \"\(text.prefix(32))\"")
        }
        return value
    }

    /// An ISO 8601 UTC time (`2026-10-01T23:00:00Z`; a browser's `2026-10-01T23:00` is taken as UTC) as Unix seconds.
    static func instant(_ text: String?, _ name: String) throws(PublishRefusal) -> Int64? {
        guard let text else { return nil }
        let full = text.utf8.count == 16 ? text + ":00Z" : text
        guard text.utf8.count <= 40, let date = ISO8601DateFormatter().date(from: full), date.timeIntervalSince1970.magnitude < 1e12 else {
            throw PublishRefusal(.badRequest, "\(name) \"\(text.prefix(40))\" is not an ISO 8601 UTC time such as 2026-10-01T23:00:00Z")
        }
        return Int64(date.timeIntervalSince1970.rounded(.down))
    }

    /// A JSON body as the form's fields (docs/live-view.md "Publishing API"): numbers become their
    /// decimal text (a fraction, NaN or a huge number is then refused like a bad form field).
    static func jsonFields(_ data: Data) throws(PublishRefusal) -> [String: String] {
        guard let parsed = try? JSONSerialization.jsonObject(with: data), let body = parsed as? [String: Any] else {
            throw PublishRefusal(.badRequest, "the body is not a JSON object: see docs/live-view.md \"Publishing API\"")
        }
        func text(_ value: Any) -> String {
            if let string = value as? String { return string }
            if let number = value as? NSNumber {
                let double = number.doubleValue
                return double.isFinite && double == double.rounded() && double.magnitude < 1e15 ? String(Int64(double)) : "\(double)"
            }
            return "\(type(of: value))"
        }
        var fields: [String: String] = [:]
        if let devices = body["devices"] {
            guard let list = devices as? [Any], list.allSatisfy({ $0 is String }) else { throw PublishRefusal(.badRequest, "devices must be an array of device ids") }
            fields["devices"] = list.map(text).joined(separator: "\n")
        }
        if let device = body["device"] as? String { fields["devices", default: ""] += "\n" + device }
        if let all = body["all"] { fields["all"] = (all as? Bool) == true ? "true" : text(all) }
        if let validHours = body["validHours"] { fields["validHours"] = text(validHours) }
        var kinds: [String] = []
        if let override = body["override"] {
            guard let object = override as? [String: Any] else { throw PublishRefusal(.badRequest, "override must be an object {level, until | hours, from, reason}") }
            kinds.append("override")
            for key in ["level", "until", "hours", "from", "reason"] { if let value = object[key] { fields[key] = text(value) } }
        }
        if let clear = body["clearOverride"] as? Bool, clear { kinds.append("clear") }
        if body["schedule"] != nil || body["defaultLevel"] != nil || body["configuration"] != nil {
            kinds.append("schedule")
            for (key, shape) in [("schedule", "{\"calendar\": …, \"programs\": […]}"),
                                 ("configuration", "{\"batchIntervalSeconds\": …, \"maxBytesPerDay\": …, \"samplingPeriodSeconds\": {…}}")] {
                guard let object = body[key] else { continue }
                guard object is [String: Any], let encoded = try? JSONSerialization.data(withJSONObject: object) else {
                    throw PublishRefusal(.badRequest, "\(key) must be an object \(shape)")
                }
                fields[key] = String(decoding: encoded, as: UTF8.self)
            }
            if let level = body["defaultLevel"] { fields["defaultLevel"] = text(level) }
        }
        guard kinds.count <= 1 else {
            throw PublishRefusal(.badRequest, "an override (operator) and a schedule (scheduler) are separate documents: publish them separately")
        }
        fields["kind"] = kinds.first
        return fields
    }
}
