import Foundation
import Logging

/// Wakes the pulls a receiver holds (docs/downlink.md, "Long poll") when a document is published.
///
/// Documents are published by `lamp-ingest publish`, another process writing the same store, so
/// the watch looks at the store's `publicationStamp()` every `interval` — one cheap query for all
/// held pulls together, and only while at least one is held — and wakes every held pull when it
/// changed. A woken pull asks the store again; one that finds nothing newer waits again.
public actor PublicationWatch {
    let store: any PublishedStateStore
    let interval: Duration
    let logger: Logger
    private var waiters: [Int: CheckedContinuation<Bool, Never>] = [:]
    private var nextID = 0
    private var polling: Task<Void, Never>?
    private var lastStamp: Int64?

    /// How often the store is looked at while pulls are held.
    public static let defaultInterval = Duration.milliseconds(100)

    public init(store: any PublishedStateStore, interval: Duration = defaultInterval, logger: Logger) {
        self.store = store
        self.interval = interval
        self.logger = logger
    }

    /// Held pulls now.
    public var heldCount: Int { waiters.count }

    /// Returns true when something was published after the call, false when `timeout` passed or
    /// the calling task was cancelled first (a server shutting down cancels it).
    public func waitForPublication(upTo timeout: Duration) async -> Bool {
        guard timeout > .zero, !Task.isCancelled else { return false }
        // The stamp before the wait: a publish between the caller's last look and now still wakes it.
        if lastStamp == nil { lastStamp = try? await store.publicationStamp() }
        let id = nextID
        nextID += 1
        return await withTaskGroup(of: Bool.self) { group in
            group.addTask { await self.suspend(id) }
            group.addTask {
                try? await Task.sleep(for: timeout)
                return false
            }
            let first = await group.next() ?? false
            group.cancelAll()
            await self.cancel(id)
            return first
        }
    }

    private func suspend(_ id: Int) async -> Bool {
        await withTaskCancellationHandler {
            await withCheckedContinuation { (continuation: CheckedContinuation<Bool, Never>) in
                // Cancelled before it got here: the cancellation handler found nothing to cancel.
                if Task.isCancelled {
                    continuation.resume(returning: false)
                    return
                }
                waiters[id] = continuation
                startPolling()
            }
        } onCancel: {
            Task { await self.cancel(id) }
        }
    }

    private func cancel(_ id: Int) {
        waiters.removeValue(forKey: id)?.resume(returning: false)
    }

    private func startPolling() {
        guard polling == nil else { return }
        polling = Task { await self.poll() }
    }

    private func poll() async {
        while !waiters.isEmpty {
            try? await Task.sleep(for: interval)
            let stamp: Int64
            do { stamp = try await store.publicationStamp() } catch {
                logger.warning("the published-state store cannot be read for held pulls: \(error.message)")
                continue
            }
            if let last = lastStamp, stamp == last { continue }
            lastStamp = stamp
            let woken = waiters
            waiters.removeAll()
            for continuation in woken.values { continuation.resume(returning: true) }
        }
        polling = nil
    }
}
