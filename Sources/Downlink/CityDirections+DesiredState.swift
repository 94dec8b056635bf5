import FoundationEssentials
import Lighting

extension CityDirections {
    /// What the arbiter gets from the applied documents of each role (nil = none applied).
    public init(scheduler: VerifiedDesiredState?, operator: VerifiedDesiredState?) {
        self.init()
        if let scheduler {
            schedule = scheduler.state.schedule
            defaultLightStatePercent = scheduler.state.defaultLightStatePercent
            scheduleLabel = "city schedule v\(scheduler.state.version)"
        }
        if let document = `operator`, let o = document.state.override {
            override = LightOverride(levelPercent: o.levelPercent, start: Date(timeIntervalSince1970: Double(o.startSeconds)),
                                     expiry: Date(timeIntervalSince1970: Double(o.expirySeconds)), rampSeconds: Double(o.rampSeconds),
                                     reason: o.reason, source: .upstream("operator key \(document.kidHex)"))
            overrideLabel = "city override v\(document.state.version)"
        }
    }
}
