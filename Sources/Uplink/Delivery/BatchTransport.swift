/// Sends one batch and reports what came of it; the HTTP implementation is `HTTPBatchTransport`.
public protocol BatchTransport: Sendable {
    /// Sends `batch` once. Never throws: every failure is a `DeliveryOutcome`.
    func deliver(_ batch: SignedBatch, deviceID: String) async -> (outcome: DeliveryOutcome, wireBytes: Int)
    /// Releases connections (at shutdown).
    func shutdown() async
}
