import Hardware
import Logging
import ServiceLifecycle
import Telemetry

/// Runs every configured Modbus poller and GPIO watcher; one failing input
/// never stops the others (each runs in its own child task and handles its
/// own errors).
public struct SamplingService: Service {
    let pollers: [ModbusDevicePoller]
    let watchers: [@Sendable () async -> Void]

    public init(pollers: [ModbusDevicePoller], watchers: [@Sendable () async -> Void]) {
        self.pollers = pollers
        self.watchers = watchers
    }

    public func run() async throws {
        await cancelWhenGracefulShutdown {
            await withDiscardingTaskGroup { group in
                // Keeps the service alive until shutdown even with no inputs configured.
                group.addTask { try? await gracefulShutdown() }
                for poller in pollers {
                    group.addTask { await poller.run() }
                }
                for run in watchers {
                    group.addTask { await run() }
                }
            }
        }
    }
}
