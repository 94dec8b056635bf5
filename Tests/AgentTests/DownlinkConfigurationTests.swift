@testable import LampdConfig
import Foundation
import Testing

@Suite("[downlink] configuration")
struct DownlinkConfigurationTests {
    static let board = "[board]\nkind = \"simulated\"\nid = \"pole-1\"\n"

    @Test func defaultsAndAFullSection() throws {
        let defaults = try LampdConfiguration.parse(Self.board).downlink
        #expect(defaults == DownlinkConfiguration())
        #expect(defaults.keysDirectory == "/etc/lampd/city-keys" && defaults.maxOverrideSeconds == 43_200)

        let full = try LampdConfiguration.parse(Self.board + """
            [downlink]
            keys_dir = "/srv/keys"
            max_override_duration = "6h"
            poll_interval = "15m"
            long_poll = "10m"
            """).downlink
        #expect(full.keysDirectory == "/srv/keys" && full.maxOverrideSeconds == 21_600 && full.pollInterval == .seconds(900))
        #expect(full.longPoll == .seconds(600) && defaults.longPoll == .zero)
    }

    @Test(arguments: [
        ("max_override_duration = \"8d\"", "max_override_duration"),
        ("max_override_duration = \"10s\"", "max_override_duration"),
        ("poll_interval = 5", "poll_interval"),
        ("long_poll = \"2h\"", "long_poll"),
        ("long_poll = \"-1s\"", "long_poll"),
        ("url = \"https://city.example\"", "url"),
    ])
    func mistakesAreNamed(line: String, key: String) {
        #expect {
            try LampdConfiguration.parse(Self.board + "[downlink]\n" + line + "\n")
        } throws: { error in
            "\(error)".contains(key) && "\(error)".contains("lampd.toml:5")
        }
    }
}
