import Lighting
import Testing
@testable import Agent

/// Every lamp fault has its own event kind (the live view's alarm catalogue reads them, docs/lighting.md).
@Suite struct FaultEventKindTests {
    @Test func everyFaultHasItsOwnKindAndCyclingIsLampCycling() {
        let kinds = LampFault.allCases.map(LightingService.eventKind)
        #expect(Set(kinds).count == LampFault.allCases.count)
        #expect(LightingService.eventKind(.cycling) == "lamp.cycling")
        #expect(LightingService.faultName(.cycling) == "cycling lamp")
    }
}
