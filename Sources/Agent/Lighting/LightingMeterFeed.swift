import LampdConfig
import FoundationEssentials
import Lighting
import Synchronization
import Telemetry
import Clocks

/// Collects the lamp feedback (meter power, voltage, power factor, energy; the photocell)
/// from the sampling path for the lighting service, which takes it at each step.
///
/// Only the configured channels are kept, and only their latest value. Arrival times are the
/// readings' monotonic `bootNanoseconds`, so a wrong wall clock does not confuse warm-up.
public final class LightingMeterFeed: Sendable {
    /// The latest value of one channel and when it was taken (monotonic seconds since boot).
    public struct Sample: Sendable, Hashable {
        public var value: Double
        public var bootSeconds: Double
    }

    /// What arrived since the service last looked.
    struct Pending: Sendable {
        var power: Sample?
        var voltage: Sample?
        var powerFactor: Sample?
        /// Every energy reading, in order (kWh), for the energy counter.
        var energyKilowattHours: [Double] = []
        /// true = dark.
        var photocellDark: Bool?
    }

    let channels: LightingConfiguration.MeterChannels
    let photocellChannel: String?
    private let pending = Mutex(Pending())

    public init(channels: LightingConfiguration.MeterChannels = .standard, photocellChannel: String? = nil) {
        self.channels = channels
        self.photocellChannel = photocellChannel
    }

    /// Takes a reading if its channel is one the lighting service uses.
    public func offer(_ reading: Reading) {
        let name = reading.channel.rawValue
        let seconds = Double(reading.time.bootNanoseconds) / 1e9
        if name == photocellChannel {
            switch reading.value {
            case .boolean(let dark): pending.withLock { $0.photocellDark = dark }
            case .number(let value): pending.withLock { $0.photocellDark = value != 0 }
            case .string: break
            }
            return
        }
        guard case .number(let value) = reading.value, value.isFinite,
              !reading.quality.contains(.bad) else { return }
        let sample = Sample(value: value, bootSeconds: seconds)
        switch name {
        case channels.power: pending.withLock { $0.power = sample }
        case channels.voltage: pending.withLock { $0.voltage = sample }
        case channels.powerFactor: pending.withLock { $0.powerFactor = sample }
        case channels.energy:
            pending.withLock {
                $0.energyKilowattHours.append(value)
                if $0.energyKilowattHours.count > 1000 { $0.energyKilowattHours.removeFirst() }
            }
        default: break
        }
    }

    /// Hands over what arrived and forgets the energy readings (the latest values stay).
    func take() -> Pending {
        pending.withLock { state in
            let taken = state
            state.energyKilowattHours = []
            return taken
        }
    }
}

/// A `TelemetrySink` that forwards everything to the real sink and tees the lamp's meter and
/// photocell channels to the lighting service.
public struct LightingTeeSink: TelemetrySink {
    public let next: any TelemetrySink
    public let feed: LightingMeterFeed

    public init(next: any TelemetrySink, feed: LightingMeterFeed) {
        self.next = next
        self.feed = feed
    }

    public func record(_ reading: Reading) {
        feed.offer(reading)
        next.record(reading)
    }

    public func record(_ event: Event) {
        next.record(event)
    }
}
