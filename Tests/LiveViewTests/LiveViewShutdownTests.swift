import Foundation
import Hummingbird
import Logging
import ServiceLifecycle
import TestSupport
import Testing
@testable import LiveView

/// lamp-ingest stops on SIGTERM even while pages hold event streams open (found by hand: a
/// `serve --live-view` that had served one page never ended, its graceful shutdown waiting for
/// the stream).
@Suite struct LiveViewShutdownTests {
    /// Holds one /api/events stream open: prints `open` once the stream started, `closed` when the server closed it.
    static let holder = """
        import socket, sys
        port, cookie = int(sys.argv[1]), sys.argv[2]
        connection = socket.create_connection(("127.0.0.1", port))
        connection.sendall(("GET /api/events HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\nCookie: %s\\r\\n\\r\\n" % cookie).encode())
        received = b""
        while b": live" not in received:
            chunk = connection.recv(4096)
            if not chunk:
                print("closed early", flush=True); sys.exit(1)
            received += chunk
        print("open", flush=True)
        while connection.recv(4096):
            pass
        print("closed", flush=True)
        """

    @Test func aGracefulShutdownEndsOpenEventStreams() async throws {
        try await LiveViewHarness.with { harness in
            let (ports, portSink) = AsyncStream.makeStream(of: Int.self)
            let app = harness.application { _, port in portSink.yield(port) }
            let services = ServiceGroup(configuration: .init(services: [app], logger: Logger(label: "live-view-test")))
            try await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { try await services.run() }
                var portIterator = ports.makeAsyncIterator()
                let port = try #require(await portIterator.next())
                let cookie = harness.cookie("bob", role: .viewer)[.cookie] ?? ""
                let holder = try ChildProcess(executable: "/usr/bin/env", arguments: ["python3", "-c", Self.holder, "\(port)", cookie])
                try await holder.transcript.wait(for: "open") { $0 == "open" }
                await services.triggerGracefulShutdown()
                try await holder.transcript.wait(for: "closed (the server ended the stream)") { $0 == "closed" }
                try await group.next()
                #expect(try await holder.waitForExit() == .exited(0))
            }
        }
    }
}
