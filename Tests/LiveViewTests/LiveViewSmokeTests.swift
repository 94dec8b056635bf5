import LiveView
import Testing

@Suite struct LiveViewSmokeTests {
    @Test func moduleLinks() { _ = LiveView.self }
}
