import Testing
import TestSupport
@testable import Sampling

@Suite("PolledContactDebouncer")
struct PolledContactDebouncerTests {
    @Test func aNewStateCountsAfterTheGivenPollsInARow() {
        var debouncer = PolledContactDebouncer(initialState: false, pollsRequired: 3)
        #expect(debouncer.observe(true) == nil)
        #expect(debouncer.observe(true) == nil)
        #expect(debouncer.observe(false) == nil, "a bounce starts the count again")
        #expect(debouncer.observe(true) == nil)
        #expect(debouncer.observe(true) == nil)
        #expect(debouncer.observe(true) == true)
        #expect(debouncer.state)
        #expect(debouncer.observe(true) == nil, "no second event for the same state")
    }

    @Test func forgettingDropsAPendingChangeAndOnePollIsAtOnce() {
        var debouncer = PolledContactDebouncer(initialState: true, pollsRequired: 2)
        #expect(debouncer.observe(false) == nil)
        debouncer.forgetPending()
        #expect(debouncer.observe(false) == nil)
        #expect(debouncer.observe(false) == false)
        var immediate = PolledContactDebouncer(initialState: false, pollsRequired: 0)
        #expect(immediate.pollsRequired == 1)
        #expect(immediate.observe(true) == true)
    }

    /// Random polls: every accepted change was seen by exactly `pollsRequired` polls in a row, and
    /// the state only ever changes through an accepted change.
    @Test func randomPollsNeverAcceptABounce() {
        var random = SeededRandom(seed: 0xDEB0_0013)
        for _ in 0..<200 {
            let required = Int.random(in: 1...5, using: &random)
            var debouncer = PolledContactDebouncer(initialState: false, pollsRequired: required)
            var run = (value: false, length: 0)
            for _ in 0..<100 {
                let raw = Bool.random(using: &random)
                let before = debouncer.state
                run = raw == run.value ? (raw, run.length + 1) : (raw, 1)
                let accepted = debouncer.observe(raw)
                if let accepted {
                    #expect(accepted == raw && accepted != before)
                    #expect(run.length >= required)
                } else {
                    #expect(debouncer.state == before)
                }
            }
        }
    }
}
