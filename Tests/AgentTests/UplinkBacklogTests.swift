import Foundation
import Synchronization
import Testing
import TestSupport
import Uplink
@testable import Agent

/// lampd signs into each batch how many records its spool still holds after that batch's
/// (the `spool backlog` header, docs/uplink.md §2, issue 17).
@Suite("Uplink service: spool backlog header")
struct UplinkBacklogTests {
    @Test func eachBatchSaysHowManyRecordsStayBehindItAndARetransmissionSaysTheSame() async throws {
        let fixture = try await UplinkFixture(readings: 250)
        let receiver = ScriptedReceiver(publicKey: fixture.key.publicKey)
        // The first batch is stored but its acknowledgement lost: it is sent again, byte for byte.
        receiver.inject([.storeThenLoseAck])
        let service = fixture.service(receiver)
        let sync = Task { await service.syncNow(timeout: .seconds(15)) }
        try await fixture.run(service) { (try? await fixture.pending()) == 0 }
        _ = await sync.value

        let (order, stored, attempts) = receiver.state.withLock { ($0.order, $0.stored, $0.attempts) }
        #expect(order == [1, 2, 3])
        // 100 records per batch: 150, then 50, then none behind them.
        let backlogs = try order.map { sequence in
            try BatchVerifier.verify(bytes: try #require(stored[sequence]).bytes, publicKey: fixture.key.publicKey).spoolBacklog
        }
        #expect(backlogs == [150, 50, 0])
        #expect(attempts.filter { $0.sequence == 1 }.count == 2)
    }
}
