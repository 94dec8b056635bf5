import Synchronization
import Telemetry

/// A tee in front of the spool's sink that remembers, in memory, the latest
/// reading of every channel and the last `eventCapacity` events, for
/// `lampctl status` and `lampctl events` without reading the spool.
///
/// Every record is passed on to `next` unchanged; remembering costs one
/// short lock per record. Events get a number (`serial`, from 1, per lampd
/// run) so a client can ask for "events after the last one I saw".
public final class RecentTelemetry: TelemetrySink {
    /// An event with its number in this run.
    public struct NumberedEvent: Sendable {
        /// 1 for the first event since lampd started, then +1 per event.
        public var serial: Int64
        public var event: Event
    }

    private struct State {
        var latest: [ChannelName: Reading] = [:]
        var events: [NumberedEvent] = []
        var nextSerial: Int64 = 1
        /// Latest event per channel whose severity is `.alarm` and not followed by another event on that channel.
        var activeByChannel: [ChannelName: NumberedEvent] = [:]
    }

    private let next: any TelemetrySink
    private let state = Mutex(State())
    /// How many events are kept (oldest forgotten first).
    public let eventCapacity: Int

    public init(forwardingTo next: any TelemetrySink, eventCapacity: Int = 200) {
        self.next = next
        self.eventCapacity = max(1, eventCapacity)
    }

    public func record(_ reading: Reading) {
        state.withLock { $0.latest[reading.channel] = reading }
        next.record(reading)
    }

    public func record(_ event: Event) {
        remember(event)
        next.record(event)
    }

    /// Keeps `event` for `events()` and `activeAlarms()` without passing it on: for events already
    /// stored elsewhere, such as those the spool records about itself (`Spool.observeOwnEvents`).
    public func remember(_ event: Event) {
        let capacity = eventCapacity
        state.withLock { state in
            let numbered = NumberedEvent(serial: state.nextSerial, event: event)
            state.nextSerial += 1
            state.events.append(numbered)
            if state.events.count > capacity { state.events.removeFirst(state.events.count - capacity) }
            if let channel = event.channel {
                state.activeByChannel[channel] = event.severity == .alarm ? numbered : nil
            }
        }
    }

    /// The latest reading of every channel seen since start, sorted by channel.
    public func latestReadings() -> [Reading] {
        state.withLock { $0.latest.values.sorted { $0.channel < $1.channel } }
    }

    /// Kept events with `serial > afterSerial`, oldest first, at most the newest `limit`.
    public func events(afterSerial: Int64 = 0, limit: Int = .max) -> [NumberedEvent] {
        state.withLock { state in
            let newer = state.events.filter { $0.serial > afterSerial }
            return Array(newer.suffix(max(0, limit)))
        }
    }

    /// Alarms still standing: per channel, an alarm event not yet followed by
    /// another event on the same channel (e.g. `cabinet.mains.lost` until
    /// `cabinet.mains.restored`). Alarms without a channel are not tracked here.
    public func activeAlarms() -> [NumberedEvent] {
        state.withLock { $0.activeByChannel.values.sorted { $0.serial < $1.serial } }
    }
}
