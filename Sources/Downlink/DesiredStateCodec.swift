import Lighting
import Uplink

/// Bounds of a desired-state document (docs/downlink.md, "Limits"): what a board accepts.
public enum DesiredStateLimits {
    /// The largest COSE_Sign1 document, in bytes (its base64 fits one control-socket request).
    public static let maximumDocumentBytes = 32_768
    public static let maximumPrograms = 32
    public static let maximumSwitchPointsPerProgram = 48
    public static let maximumCalendarRules = 128
    /// Day ranges of one rule, weekdays and occurrences have their own small bounds.
    public static let maximumDayRangesPerRule = 32
    public static let maximumSamplingPeriods = 64
    /// Ids (device, program, calendar, sampling names), in UTF-8 bytes.
    public static let maximumIDBytes = 64
    /// An override's reason, in UTF-8 bytes.
    public static let maximumReasonBytes = 256
    /// Ramps (switch points and overrides), in seconds.
    public static let rampSeconds: ClosedRange<Int64> = 0...3600
    /// Times, in whole seconds since the epoch: 1970-01-01 … 9999-12-31T23:59:59Z.
    public static let epochSeconds: ClosedRange<Int64> = 0...253_402_300_799
    /// Versions: 1 … 2^63−1 (the city side stores them as SQL integers).
    public static let versions: ClosedRange<Int64> = 1...Int64.max
}

/// The CBOR form of a `DesiredState` (the COSE_Sign1 payload), both ways.
///
/// Encoding is RFC 8949 core deterministic (Uplink's `CBOREncoder`). Decoding checks every
/// number, size and key (docs/downlink.md, "Payload"); anything else is a `malformed` refusal.
public enum DesiredStateCodec {
    static let topKeys: Set<String> = ["device", "version", "issuedAt", "expiresAt", "programs", "calendar",
                                       "defaultLightState", "configuration", "override"]

    // MARK: Encoding

    /// The payload map.
    public static func encode(_ state: DesiredState) -> CBORValue {
        var map: [CBORValue: CBORValue] = [
            "device": .text(state.deviceID),
            "version": .unsigned(state.version),
            "issuedAt": .int(state.issuedAtSeconds),
            "expiresAt": .int(state.expiresAtSeconds),
        ]
        if let schedule = state.schedule {
            map["programs"] = .array(schedule.programs.map(encode(program:)))
            map["calendar"] = encode(calendar: schedule.calendar)
        }
        if let level = state.defaultLightStatePercent { map["defaultLightState"] = .int(Int64(level)) }
        if let configuration = state.configuration {
            var c: [CBORValue: CBORValue] = [:]
            if let v = configuration.batchIntervalSeconds { c["batchIntervalSeconds"] = .int(Int64(v)) }
            if let v = configuration.maxBytesPerDay { c["maxBytesPerDay"] = .int(Int64(v)) }
            if let v = configuration.samplingPeriodSeconds {
                c["samplingPeriodSeconds"] = .map(Dictionary(uniqueKeysWithValues: v.map { (CBORValue.text($0.key), CBORValue.int(Int64($0.value))) }))
            }
            map["configuration"] = .map(c)
        }
        if let o = state.override {
            var m: [CBORValue: CBORValue] = [
                "level": .int(Int64(o.levelPercent)), "start": .int(o.startSeconds), "expiry": .int(o.expirySeconds),
                "rampSeconds": .int(Int64(o.rampSeconds)),
            ]
            if let reason = o.reason { m["reason"] = .text(reason) }
            map["override"] = .map(m)
        }
        return .map(map)
    }

    static func encode(program: ControlProgram) -> CBORValue {
        var map: [CBORValue: CBORValue] = [
            "id": .text(program.id),
            "switchPoints": .array(program.switchPoints.map { point in
                .map(["at": .text(point.at.description), "level": .int(Int64(point.levelPercent)),
                      "rampSeconds": .int(Int64(point.rampSeconds.rounded()))])
            }),
        ]
        if let period = program.activePeriod {
            map["activePeriod"] = .map(["from": .text(period.from.description), "to": .text(period.to.description)])
        }
        return .map(map)
    }

    static func encode(calendar: LightingCalendar) -> CBORValue {
        .map([
            "id": .text(calendar.id),
            "defaultProgram": .text(calendar.defaultProgram),
            "rules": .array(calendar.rules.map { rule in
                var m: [CBORValue: CBORValue] = ["program": .text(rule.program)]
                if let d = rule.startDate { m["startDate"] = .text(d.description) }
                if let d = rule.endDate { m["endDate"] = .text(d.description) }
                if let w = rule.weekdays { m["weekdays"] = .array(w.map { .int(Int64($0)) }) }
                if let o = rule.occurrences { m["occurrences"] = .array(o.map { .text($0.text) }) }
                if let dates = rule.dates {
                    m["dates"] = .array(dates.map { range in
                        var r: [CBORValue: CBORValue] = ["start": .text(range.start.description)]
                        if let end = range.end { r["end"] = .text(end.description) }
                        return .map(r)
                    })
                }
                return .map(m)
            }),
        ])
    }

    // MARK: Decoding

    /// Decodes and checks a payload; every problem is a `malformed` refusal naming where it is.
    public static func decode(_ payload: [UInt8]) throws(DesiredStateRefusal) -> DesiredState {
        let value: CBORValue
        do {
            value = try CBORDecoder(maximumDepth: 8, maximumLength: 1024).decode(payload)
        } catch {
            throw CBORMapReader.malformed("the payload is not well-formed CBOR: \(error)")
        }
        return try decode(value)
    }

    static func decode(_ value: CBORValue) throws(DesiredStateRefusal) -> DesiredState {
        let top = try CBORMapReader(value, path: "", knownKeys: topKeys)
        let device = try top.text("device", maximumLength: DesiredStateLimits.maximumIDBytes)!
        let version = try top.integer("version", in: DesiredStateLimits.versions)!
        let issued = try top.integer("issuedAt", in: DesiredStateLimits.epochSeconds)!
        let expires = try top.integer("expiresAt", in: DesiredStateLimits.epochSeconds)!
        guard expires > issued else { throw CBORMapReader.malformed("expiresAt (\(expires)) must be after issuedAt (\(issued))") }
        var state = DesiredState(deviceID: device, version: UInt64(version), issuedAtSeconds: issued, expiresAtSeconds: expires)

        let programs = try top.array("programs", maximumCount: DesiredStateLimits.maximumPrograms, required: false)
        let calendar = try top.value("calendar", required: false)
        switch (programs, calendar) {
        case (nil, nil): break
        case (let programs?, let calendar?):
            var decoded: [ControlProgram] = []
            for (index, program) in programs.enumerated() {
                decoded.append(try decode(program: program, path: "programs[\(index)]"))
            }
            let decodedCalendar = try decode(calendar: calendar)
            do {
                state.schedule = try Schedule(calendar: decodedCalendar, programs: decoded)
            } catch {
                throw CBORMapReader.malformed("the schedule is not valid: \(error.description)")
            }
        default:
            throw CBORMapReader.malformed("programs and calendar come together: a document sets both or neither")
        }
        if let level = try top.integer("defaultLightState", in: 0...100, required: false) {
            state.defaultLightStatePercent = Int(level)
        }
        if let configuration = try top.value("configuration", required: false) {
            state.configuration = try decode(configuration: configuration)
        }
        if let override = try top.value("override", required: false) {
            state.override = try decode(override: override)
        }
        return state
    }

    static func switchTime(_ reader: CBORMapReader, _ key: String) throws(DesiredStateRefusal) -> SwitchTime {
        let text = try reader.text(key, maximumLength: 32)!
        guard let time = SwitchTime(text) else {
            throw CBORMapReader.malformed("\(reader.name(key)) \"\(text)\" is not a switch time (HH:MM, or sunset+HH:MM …)")
        }
        return time
    }

    static func decode(program value: CBORValue, path: String) throws(DesiredStateRefusal) -> ControlProgram {
        let reader = try CBORMapReader(value, path: path, knownKeys: ["id", "activePeriod", "switchPoints"])
        let id = try reader.text("id", maximumLength: DesiredStateLimits.maximumIDBytes)!
        var period: ActivePeriod?
        if let periodValue = try reader.value("activePeriod", required: false) {
            let p = try CBORMapReader(periodValue, path: reader.name("activePeriod"), knownKeys: ["from", "to"])
            period = ActivePeriod(from: try switchTime(p, "from"), to: try switchTime(p, "to"))
        }
        let points = try reader.array("switchPoints", maximumCount: DesiredStateLimits.maximumSwitchPointsPerProgram)!
        var switchPoints: [SwitchPoint] = []
        for (index, point) in points.enumerated() {
            let p = try CBORMapReader(point, path: "\(reader.name("switchPoints"))[\(index)]", knownKeys: ["at", "level", "rampSeconds"])
            let level = try p.integer("level", in: 0...100)!
            let ramp = try p.integer("rampSeconds", in: DesiredStateLimits.rampSeconds, required: false) ?? 0
            switchPoints.append(SwitchPoint(at: try switchTime(p, "at"), levelPercent: Int(level), rampSeconds: Double(ramp)))
        }
        return ControlProgram(id: id, activePeriod: period, switchPoints: switchPoints)
    }

    static func decode(calendar value: CBORValue) throws(DesiredStateRefusal) -> LightingCalendar {
        let reader = try CBORMapReader(value, path: "calendar", knownKeys: ["id", "rules", "defaultProgram"])
        let id = try reader.text("id", maximumLength: DesiredStateLimits.maximumIDBytes)!
        let defaultProgram = try reader.text("defaultProgram", maximumLength: DesiredStateLimits.maximumIDBytes)!
        let ruleValues = try reader.array("rules", maximumCount: DesiredStateLimits.maximumCalendarRules, required: false) ?? []
        var rules: [CalendarRule] = []
        for (index, ruleValue) in ruleValues.enumerated() {
            let r = try CBORMapReader(ruleValue, path: "calendar.rules[\(index)]",
                                      knownKeys: ["program", "startDate", "endDate", "weekdays", "occurrences", "dates"])
            func ruleDate(_ key: String) throws(DesiredStateRefusal) -> RuleDate? {
                guard let text = try r.text(key, maximumLength: 16, required: false) else { return nil }
                guard let date = RuleDate(text) else {
                    throw CBORMapReader.malformed("\(r.name(key)) \"\(text)\" is not a date (YYYY-MM-DD or --MM-DD)")
                }
                return date
            }
            func dayPattern(_ reader: CBORMapReader, _ key: String, required: Bool) throws(DesiredStateRefusal) -> DayPattern? {
                guard let text = try reader.text(key, maximumLength: 16, required: required) else { return nil }
                guard let pattern = DayPattern(text) else {
                    throw CBORMapReader.malformed("\(reader.name(key)) \"\(text)\" is not a day pattern (---DD or --MM-DD)")
                }
                return pattern
            }
            var rule = CalendarRule(program: try r.text("program", maximumLength: DesiredStateLimits.maximumIDBytes)!,
                                    startDate: try ruleDate("startDate"), endDate: try ruleDate("endDate"))
            if let weekdays = try r.array("weekdays", maximumCount: 7, required: false) {
                var days: [Int] = []
                for day in weekdays {
                    guard let n = day.int64, (1...7).contains(n) else {
                        throw CBORMapReader.malformed("\(r.name("weekdays")) holds \(CBORMapReader.short(day)): weekdays are 1 (Monday) to 7 (Sunday)")
                    }
                    days.append(Int(n))
                }
                rule.weekdays = days
            }
            if let occurrences = try r.array("occurrences", maximumCount: 6, required: false) {
                var decoded: [WeekdayOccurrence] = []
                for occurrence in occurrences {
                    guard let text = occurrence.text, let o = WeekdayOccurrence(text) else {
                        throw CBORMapReader.malformed("\(r.name("occurrences")) holds \(CBORMapReader.short(occurrence)): use \"1\"…\"5\" or \"L\"")
                    }
                    decoded.append(o)
                }
                rule.occurrences = decoded
            }
            if let dates = try r.array("dates", maximumCount: DesiredStateLimits.maximumDayRangesPerRule, required: false) {
                var ranges: [DayRange] = []
                for (i, range) in dates.enumerated() {
                    let d = try CBORMapReader(range, path: "\(r.name("dates"))[\(i)]", knownKeys: ["start", "end"])
                    ranges.append(DayRange(start: try dayPattern(d, "start", required: true)!, end: try dayPattern(d, "end", required: false)))
                }
                rule.dates = ranges
            }
            rules.append(rule)
        }
        return LightingCalendar(id: id, rules: rules, defaultProgram: defaultProgram)
    }

    static func decode(configuration value: CBORValue) throws(DesiredStateRefusal) -> RemoteConfiguration {
        let reader = try CBORMapReader(value, path: "configuration", knownKeys: ["batchIntervalSeconds", "maxBytesPerDay", "samplingPeriodSeconds"])
        var configuration = RemoteConfiguration()
        configuration.batchIntervalSeconds = try reader.integer("batchIntervalSeconds", in: 1...86_400, required: false).map { Int($0) }
        configuration.maxBytesPerDay = try reader.integer("maxBytesPerDay", in: 10_000...Int64(Int32.max), required: false).map { Int($0) }
        if let periods = try reader.value("samplingPeriodSeconds", required: false) {
            guard case .map(let entries) = periods, entries.count <= DesiredStateLimits.maximumSamplingPeriods else {
                throw CBORMapReader.malformed("configuration.samplingPeriodSeconds must be a map of at most \(DesiredStateLimits.maximumSamplingPeriods) names")
            }
            var decoded: [String: Int] = [:]
            for (key, seconds) in entries {
                guard case .text(let name) = key, !name.isEmpty, name.utf8.count <= DesiredStateLimits.maximumIDBytes,
                      let n = seconds.int64, (1...86_400).contains(n)
                else {
                    throw CBORMapReader.malformed("configuration.samplingPeriodSeconds: each entry is a name (1–64 bytes) → seconds 1…86400")
                }
                decoded[name] = Int(n)
            }
            configuration.samplingPeriodSeconds = decoded
        }
        return configuration
    }

    static func decode(override value: CBORValue) throws(DesiredStateRefusal) -> CityOverride {
        let reader = try CBORMapReader(value, path: "override", knownKeys: ["level", "start", "expiry", "rampSeconds", "reason"])
        let level = try reader.integer("level", in: 0...100)!
        let start = try reader.integer("start", in: DesiredStateLimits.epochSeconds)!
        let expiry = try reader.integer("expiry", in: DesiredStateLimits.epochSeconds)!
        guard expiry > start else { throw CBORMapReader.malformed("override.expiry (\(expiry)) must be after override.start (\(start))") }
        let ramp = try reader.integer("rampSeconds", in: DesiredStateLimits.rampSeconds, required: false) ?? 0
        let reason = try reader.text("reason", maximumLength: DesiredStateLimits.maximumReasonBytes, required: false)
        return CityOverride(levelPercent: Int(level), startSeconds: start, expirySeconds: expiry, rampSeconds: Int(ramp), reason: reason)
    }
}
