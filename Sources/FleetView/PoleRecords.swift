import Foundation
import Ingest
import Telemetry
import Uplink

/// A period [from, to] in Unix seconds, checked: finite, `to` after `from`, not longer than allowed.
struct PolePeriod: Sendable {
    let from: Double
    let to: Double

    init(from: Date, to: Date, maximumSeconds: Double) throws(IngestError) {
        self.from = from.timeIntervalSince1970
        self.to = to.timeIntervalSince1970
        guard self.from.isFinite, self.to.isFinite, abs(self.from) < 1e11, abs(self.to) < 1e11 else {
            throw IngestError(.invalidArgument, "the period \(from) … \(to) is not a usable pair of dates")
        }
        guard self.to > self.from else {
            throw IngestError(.invalidArgument, "the period ends (\(to)) before or when it begins (\(from)): give a later end")
        }
        guard self.to - self.from <= maximumSeconds else {
            throw IngestError(
                .invalidArgument,
                "the period \(from) … \(to) is longer than \(Int(maximumSeconds / 86_400)) days: ask for a shorter one")
        }
    }

    func contains(_ seconds: Double) -> Bool { seconds >= from && seconds <= to }
    var hours: Double { (to - from) / 3_600 }
}

/// The verified records of the store, with their resolved time, in the store's order (by device,
/// then arrival): what the pole history and the energy report read.
enum PoleRecords {
    /// Hands every record of `device` (all devices that `includes` when nil; the others' batches
    /// are not even verified) whose resolved time is in
    /// [from − lookbackSeconds, to] to `body` with its time in Unix seconds. Reads only the
    /// batches received since `from − lookbackSeconds − ExportFilter.clockSlackSeconds`; records
    /// whose time is unknown (unsynchronised, no anchor) are left out.
    static func forEach(
        device: String?, period: PolePeriod, lookbackSeconds: Double, store: any BatchStore,
        includes: (_ device: String) -> Bool = { _ in true },
        _ body: (_ device: String, _ seconds: Double, BatchRecord) throws -> Void
    ) async throws(IngestError) {
        let earliest = period.from - lookbackSeconds
        do {
            let anchors = try await store.bootAnchors(device: device)
            let filter = ExportFilter(device: device, receivedSince: ExportFilter.receivedSince(forRecordsSince: earliest))
            try await SenMLExporter(store: store).forEachVerifiedBatch(filter, includes: includes) { device, batch in
                let deviceAnchors = anchors[device] ?? [:]
                for record in batch.records {
                    guard let nanoseconds = SenMLExporter.resolvedNanoseconds(record, anchors: deviceAnchors) else { continue }
                    let seconds = Double(nanoseconds) / 1e9
                    guard seconds >= earliest, seconds <= period.to else { continue }
                    try body(device, seconds, record)
                }
            }
        } catch let error as IngestError {
            throw error
        } catch {
            throw IngestError(.storeFailed, "reading the store \(store.location) failed: \(error)")
        }
    }

    /// `info`, `warning` or `alarm`.
    static func words(_ severity: EventSeverity) -> String {
        switch severity {
        case .info: "info"
        case .warning: "warning"
        case .alarm: "alarm"
        }
    }

    /// The value as a finite number, if it is one.
    static func number(_ value: ReadingValue?) -> Double? {
        if case .number(let n)? = value, n.isFinite { return n }
        return nil
    }
}

/// Keeps the newest `limit` items by time, out of any number appended in any order, holding at most
/// twice the limit at any moment.
struct NewestKept<Item> {
    let limit: Int
    private var items: [(seconds: Double, item: Item)] = []
    private(set) var dropped = 0

    init(limit: Int) { self.limit = max(1, limit) }

    mutating func append(_ item: Item, at seconds: Double) {
        items.append((seconds, item))
        if items.count >= 2 * limit { trim() }
    }

    private mutating func trim() {
        items.sort { $0.seconds < $1.seconds }
        let excess = items.count - limit
        if excess > 0 {
            items.removeFirst(excess)
            dropped += excess
        }
    }

    /// Oldest first.
    mutating func sorted() -> [Item] {
        trim()
        return items.map(\.item)
    }
}
