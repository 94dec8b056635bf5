import FleetView
import Testing

@Suite struct PoleInventoryTests {
    @Test func findsAPoleByDevice() {
        let inventory = PoleInventory(poles: [
            Pole(device: "pole-1", label: "Main St 1", latitudeDegrees: 50.85, longitudeDegrees: 4.35, ratedPowerWatts: 60)
        ])
        #expect(inventory["pole-1"]?.label == "Main St 1")
        #expect(inventory["pole-2"] == nil)
    }
}
