import Ingest
import Testing

@Suite("Acceptance rules (docs/uplink.md §4)")
struct AcceptanceRulesTests {
    let kidA: [UInt8] = [1, 1, 1, 1, 1, 1, 1, 1]
    let kidB: [UInt8] = [2, 2, 2, 2, 2, 2, 2, 2]
    let h40 = [UInt8](repeating: 40, count: 32)
    let h41 = [UInt8](repeating: 41, count: 32)
    let h42 = [UInt8](repeating: 42, count: 32)
    var chain: ChainState { ChainState(kid: kidA, sequence: 40, hash: h40) }

    func decide(_ kid: [UInt8], _ sequence: UInt64, previous: [UInt8], hash: [UInt8], chain: ChainState?, stored: [UInt8]? = nil)
        -> Acceptance
    {
        AcceptanceRules.decide(
            BatchChainLink(kid: kid, sequence: sequence, previousHash: previous, hash: hash), chain: chain,
            storedHashForSequence: stored)
    }

    /// The gap of a stored batch that advances the chain; nil (and an issue) for any other decision.
    func gap(_ decision: Acceptance, sourceLocation: SourceLocation = #_sourceLocation) -> SequenceGap? {
        guard case .store(let gap?, true) = decision else {
            Issue.record("expected a stored batch with a gap, got \(decision)", sourceLocation: sourceLocation)
            return nil
        }
        return gap
    }

    @Test("a device's very first batch (sequence 1, no previous hash) is stored in order")
    func firstBatch() {
        #expect(decide(kidA, 1, previous: [], hash: h41, chain: nil) == .store(gap: nil, advancesChain: true))
    }

    @Test("a first batch that is not sequence 1, or follows an unseen batch, is stored with a gap from 1")
    func firstBatchLate() {
        #expect(gap(decide(kidA, 5, previous: h40, hash: h41, chain: nil)).map { [$0.expected, $0.received] } == [1, 5])
        #expect(gap(decide(kidA, 1, previous: h40, hash: h41, chain: nil)).map { [$0.expected, $0.received] } == [1, 1])
    }

    @Test("in order: same kid, sequence + 1, previous hash = last hash")
    func inOrder() {
        #expect(decide(kidA, 41, previous: h40, hash: h41, chain: chain) == .store(gap: nil, advancesChain: true))
    }

    @Test("retransmission of a stored batch is a duplicate, a different batch with its number a conflict")
    func duplicateAndConflict() {
        #expect(decide(kidA, 40, previous: h41, hash: h40, chain: chain, stored: h40) == .duplicate)
        #expect(decide(kidA, 40, previous: h41, hash: h42, chain: chain, stored: h40) == .conflict(storedHash: h40))
        #expect(decide(kidA, 12, previous: h41, hash: h42, chain: chain, stored: h41) == .conflict(storedHash: h41))
    }

    @Test("sequence beyond last + 1 is a gap with expected and received")
    func gap() {
        #expect(gap(decide(kidA, 43, previous: h42, hash: h42, chain: chain)).map { [$0.expected, $0.received] } == [41, 43])
    }

    @Test("right sequence but wrong previous hash is treated as a gap")
    func brokenChain() {
        #expect(gap(decide(kidA, 41, previous: h42, hash: h41, chain: chain)).map { [$0.expected, $0.received] } == [41, 41])
    }

    @Test("a late batch below the head that was never stored fills the hole without moving the head")
    func lateBatch() {
        #expect(decide(kidA, 39, previous: h41, hash: h42, chain: chain) == .store(gap: nil, advancesChain: false))
    }

    @Test("key rotation: new kid, sequence 1, previous hash = last hash")
    func rotation() {
        #expect(decide(kidB, 1, previous: h40, hash: h41, chain: chain) == .store(gap: nil, advancesChain: true))
        #expect(gap(decide(kidB, 1, previous: h42, hash: h41, chain: chain)).map { [$0.expected, $0.received] } == [1, 1])
        #expect(gap(decide(kidB, 3, previous: h42, hash: h41, chain: chain)).map { [$0.expected, $0.received] } == [1, 3])
    }
}
