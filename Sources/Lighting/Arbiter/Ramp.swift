import FoundationEssentials

/// Level changes that take time (TALQ `rampToLevelTime`): a straight line in percent.
public enum Ramp {
    /// The level (0–100 %) at `now` of a ramp from `fromPercent` to `toPercent` that starts at
    /// `start` and lasts `durationSeconds`. Before the start: `fromPercent`; after the end or
    /// with a zero/negative duration: `toPercent`.
    public static func levelPercent(from fromPercent: Double, to toPercent: Double, start: Date,
                                    durationSeconds: Double, now: Date) -> Double {
        let elapsed = now.timeIntervalSince(start)
        if elapsed < 0 { return fromPercent }
        guard durationSeconds > 0, elapsed < durationSeconds else { return toPercent }
        return fromPercent + (toPercent - fromPercent) * elapsed / durationSeconds
    }
}
