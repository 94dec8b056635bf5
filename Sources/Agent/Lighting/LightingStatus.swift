import ControlProtocol
import Synchronization

/// Thread-safe holder of the latest `LightingSnapshot`; the lighting service writes it at
/// every step, the control socket reads it.
public final class LightingStatus: Sendable {
    private let current = Mutex<LightingSnapshot?>(nil)

    public init() {}

    /// The latest decision; nil before the service's first step.
    public func snapshot() -> LightingSnapshot? { current.withLock { $0 } }

    func update(_ snapshot: LightingSnapshot) { current.withLock { $0 = snapshot } }
}
