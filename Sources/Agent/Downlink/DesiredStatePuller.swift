import Clocks
import FoundationEssentials
import Logging
import ServiceLifecycle
import Synchronization
import Downlink
import Uplink

/// Pulls the city's desired state from the receiver (docs/downlink.md, "The pull"): at start,
/// every `[downlink] poll_interval`, at once on `lampctl sync now`, and after an acknowledged
/// batch when the last pull got no answer (all through `UplinkTrigger.pull`), and hands each document to the
/// `DesiredStateApplier`, which verifies it (a refused one changes nothing).
///
/// Failures back off exponentially (30 s doubling, at most the poll interval) or as the receiver's
/// `Retry-After` says. Every byte of a pull counts against `[uplink] max_bytes_per_day`
/// (`UplinkTrigger.addPullBytes`); the cap does not stop pulls — a "nothing new" answer is a few
/// hundred bytes and an operator's override must still arrive. It runs in its own task, so a slow
/// or dead receiver never holds up lamp control.
///
/// With a long poll (`[downlink] long_poll`), each pull asks the receiver to hold the request while
/// nothing is newer, and the next pull follows at once: a published document arrives within about
/// a second. A receiver that answers "nothing new" before half the wait (one that does not hold
/// pulls, or a proxy's timeout) and an answer that brought only documents this board refused send
/// the puller back to `poll_interval` for that round, so it never pulls in a tight loop.
public final class DesiredStatePuller: Service, Sendable {
    let deviceID: DeviceID
    let source: any DesiredStateSource
    let applier: DesiredStateApplier
    let trigger: UplinkTrigger
    let pollInterval: Duration
    /// How long the receiver may hold a pull (zero: no long poll).
    let longPoll: Duration
    let clock: any MonotonicClock
    let timeSource: any TimeSource
    let logger: Logger

    /// First wait after a failed pull; doubles up to the poll interval.
    static let firstBackoff = Duration.seconds(30)
    /// Documents refused, by their bytes, with the reason: the same document served again is not
    /// applied again (no new refusal event per pull) unless it was refused for the board's
    /// unsynchronised clock and the clock is now synchronised.
    /// Whether the last pull got no answer at all: then an acknowledged batch (the receiver is
    /// back) brings the next pull forward.
    private let unreachable = Mutex(false)

    private let refused = Mutex<[[UInt8]: DesiredStateRefusal.Reason]>([:])

    /// What the last answered pull brought, for the long poll's next step.
    enum Answer: Sendable, Equatable { case nothingNew, applied, onlyRefused }
    private let lastAnswer = Mutex(Answer.nothingNew)
    /// Whether the "receiver does not hold pulls" warning was logged (once per run).
    private let warnedShortHold = Mutex(false)

    public init(deviceID: DeviceID, source: any DesiredStateSource, applier: DesiredStateApplier, trigger: UplinkTrigger,
                pollInterval: Duration, longPoll: Duration = .zero, clock: any MonotonicClock, timeSource: any TimeSource, logger: Logger) {
        self.deviceID = deviceID
        self.source = source
        self.applier = applier
        self.trigger = trigger
        self.pollInterval = pollInterval
        self.longPoll = longPoll
        self.clock = clock
        self.timeSource = timeSource
        self.logger = logger
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown { await self.loop() }
    }

    private func loop() async {
        var failures = 0
        var syncsSeen = trigger.latestSync
        while !Task.isCancelled {
            let pulledAt = clock.now
            let wait: Duration
            switch await pullOnce() {
            case .some(let retryAfter):
                failures += 1
                wait = retryAfter ?? Self.backoff(failures: failures, cap: pollInterval)
            case .none:
                failures = 0
                wait = nextWait(heldFor: clock.now - pulledAt)
            }
            await trigger.pull.wait(upTo: wait, on: clock)
            // An acknowledged batch brings the pull forward only after a pull that got no answer
            // (the receiver is back): otherwise pulls stay apart as decided, whatever the batch rate.
            while !Task.isCancelled, !unreachable.withLock({ $0 }), trigger.latestSync == syncsSeen, clock.now - pulledAt < wait {
                await trigger.pull.wait(upTo: wait - (clock.now - pulledAt), on: clock)
            }
            syncsSeen = trigger.latestSync
        }
    }

    /// After an answered pull: at once with a long poll that worked, else the poll interval.
    func nextWait(heldFor held: Duration) -> Duration {
        guard longPoll > .zero else { return pollInterval }
        switch lastAnswer.withLock({ $0 }) {
        case .applied:
            return .zero
        case .onlyRefused:
            return pollInterval
        case .nothingNew:
            guard held >= longPoll / 2 else {
                guard warnedShortHold.withLock({ let first = !$0; $0 = true; return first }) else { return pollInterval }
                logger.warning("the receiver answered a long poll after \(held) instead of holding it up to \(longPoll): pulling every poll_interval instead; check the receiver's --max-pull-wait and the proxy's read timeout against [downlink] long_poll")
                return pollInterval
            }
            return .zero
        }
    }

    /// One pull and the applying of what it brought; returns nil on success, or the wait the
    /// receiver asked for (itself nil when it did not say) on failure.
    func pullOnce() async -> Duration?? {
        let applied = await applier.appliedVersions()
        let (outcome, wireBytes) = await source.pullDesiredState(
            deviceID: deviceID, applied: applied, waitSeconds: Int(clamping: longPoll.components.seconds))
        trigger.addPullBytes(wireBytes)
        switch outcome {
        case .nothingNew:
            unreachable.withLock { $0 = false }
            lastAnswer.withLock { $0 = .nothingNew }
            logger.debug("desired state: nothing new", metadata: ["bytes": "\(wireBytes)"])
            return nil
        case .documents(let documents):
            unreachable.withLock { $0 = false }
            let fetchedAt = Date()
            var applied = false
            defer { lastAnswer.withLock { $0 = applied ? .applied : .onlyRefused } }
            for document in documents {
                if let reason = refused.withLock({ $0[document] }),
                   reason != .clockUnsynchronised || !timeSource.now().isClockSynchronised {
                    continue
                }
                // A refusal is recorded as an event by the applier; the next document still counts.
                do {
                    try await applier.apply(document, via: "pull", fetchedAt: fetchedAt)
                    applied = true
                } catch {
                    refused.withLock {
                        if $0.count >= 16 { $0.removeAll() }   // bounded: a hostile receiver cannot grow it
                        $0[document] = error.reason
                    }
                }
            }
            return nil
        case .failed(let reason, let retryAfter):
            unreachable.withLock { $0 = true }
            logger.warning("desired-state pull failed", metadata: ["reason": "\(reason)"])
            return .some(retryAfter)
        case .refused(let status, let reason, let retryAfter):
            unreachable.withLock { $0 = false }
            logger.warning("desired-state pull refused", metadata: ["status": "\(status)", "reason": "\(reason)"])
            return .some(retryAfter)
        }
    }

    /// 30 s, 60 s, 120 s … at most `cap`.
    static func backoff(failures: Int, cap: Duration) -> Duration {
        let doublings = min(max(failures - 1, 0), 20)
        return min(firstBackoff * (1 << doublings), cap)
    }
}
