// swift-tools-version: 6.1
import PackageDescription

/// Settings shared by every Swift target (STYLE.md rule 17).
let swiftSettings: [SwiftSetting] = [
    .enableUpcomingFeature("ExistentialAny"),
    // Members of extensions are visible only from modules a file imports itself, so a file
    // that imports FoundationEssentials cannot reach full Foundation (and ICU) by accident.
    .enableUpcomingFeature("MemberImportVisibility"),
]

let package = Package(
    name: "lampd",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "lampd", targets: ["lampd"]),
        .executable(name: "lampctl", targets: ["lampctl"]),
        // For Benchmarks/ (a separate package).
        .library(name: "Telemetry", targets: ["Telemetry"]),
        .library(name: "Uplink", targets: ["Uplink"]),
        .executable(name: "lamp-ingest", targets: ["lamp-ingest"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-crypto", from: "3.12.3"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-ssl", from: "2.37.6"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird-auth", from: "2.5.0"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
    ],
    targets: [
        // C libraries, found through pkg-config (STYLE.md rules 1-2).
        .systemLibrary(
            name: "CGPIOD",
            pkgConfig: "libgpiod",
            providers: [.apt(["libgpiod-dev"])]
        ),
        .systemLibrary(
            name: "CModbus",
            pkgConfig: "libmodbus",
            providers: [.apt(["libmodbus-dev"])]
        ),
        // zlib, for the HTTP "deflate" content coding of batch bodies.
        .systemLibrary(
            name: "CZlib",
            pkgConfig: "zlib",
            providers: [.apt(["zlib1g-dev"])]
        ),
        // SQLite, for the spool (Telemetry). Used through its C API, not GRDB: GRDB links the whole of
        // Foundation and ICU into lampd and lampctl (docs/performance.md).
        .systemLibrary(
            name: "CSQLite",
            pkgConfig: "sqlite3",
            providers: [.apt(["libsqlite3-dev"])]
        ),
        // sd_notify for Type=notify readiness and the watchdog.
        .systemLibrary(
            name: "CSystemd",
            pkgConfig: "libsystemd",
            providers: [.apt(["libsystemd-dev"])]
        ),

        // Platform support: files replaced durably, paths, errno text, standard streams, /proc I/O.
        .target(
            name: "SystemSupport",
            swiftSettings: swiftSettings
        ),
        // Clocks: the injected monotonic clock every loop waits on (and its simulated twin), the wall
        // clock that stamps records (TimeSource, Timestamp), Duration in plain numbers.
        .target(
            name: "Clocks",
            swiftSettings: swiftSettings
        ),
        // Text formatting without Foundation: printf-style formatting, trimming, fitting to a width.
        .target(
            name: "TextFormatting",
            swiftSettings: swiftSettings
        ),
        // Civil time: calendar dates, times of day and time zones (TZif files, POSIX TZ rules).
        .target(
            name: "CivilTime",
            dependencies: ["TextFormatting", "SystemSupport"],
            swiftSettings: swiftSettings
        ),

        // Swift API over GPIO, PWM and Modbus, live and simulated.
        .target(
            name: "Hardware",
            dependencies: ["CGPIOD", "CModbus", "Clocks", "SystemSupport"],
            swiftSettings: swiftSettings
        ),
        // Pure lighting logic: no I/O, no clocks.
        .target(
            name: "Lighting",
            dependencies: ["CivilTime", "TextFormatting", "SystemSupport"],
            swiftSettings: swiftSettings
        ),
        // Readings, events and the on-disk spool.
        .target(
            name: "Telemetry",
            dependencies: ["CSQLite", "Clocks", "SystemSupport"],
            swiftSettings: swiftSettings
        ),

        // CBOR, COSE_Sign1, the device key and signed SenML batches, and the delivery protocol: the
        // transport seam, the receiver's answers, pacing and the durable ledger (docs/uplink.md).
        .target(
            name: "Uplink",
            dependencies: ["Telemetry", "Clocks", "CivilTime", "SystemSupport", "TextFormatting", "CZlib", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),

        // TOML 1.0, parsed in Swift: every malformed document is an error with its line and column,
        // never a trap (toml++, behind TOMLKit, aborted on a one-byte typo in a header).
        .target(
            name: "TOML",
            swiftSettings: swiftSettings
        ),

        // Polling and debouncing: which values become readings and events.
        .target(
            name: "Sampling",
            swiftSettings: swiftSettings
        ),

        // The control socket's contract: the request/response envelope, one Codable request and
        // result per command, and the client connection (docs/control-protocol.md). lampd's
        // handlers encode its results; lampctl builds its requests and decodes its results.
        .target(
            name: "ControlProtocol",
            dependencies: ["Hardware", "Lighting", "Telemetry", "SystemSupport", "Clocks", "CivilTime"],
            swiftSettings: swiftSettings
        ),

        // lampd's configuration: TOML read into checked types, every problem a file:line:column,
        // the last good copy, the system's time zones. lampd and `lampctl config check` share it.
        .target(
            name: "LampdConfig",
            dependencies: ["Hardware", "Sampling", "Telemetry", "Lighting", "Uplink", "TOML", "Clocks", "CivilTime", "SystemSupport", "TextFormatting"],
            swiftSettings: swiftSettings
        ),

        // The services and their assembly: the agent itself.
        .target(
            name: "Agent",
            dependencies: [
                "Hardware", "Sampling", "Telemetry", "Lighting", "Uplink", "Downlink", "CSystemd",
                "TOML", "ControlProtocol", "LampdConfig", "Clocks", "CivilTime", "SystemSupport", "TextFormatting",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),

        // The signed desired state the city sends down (docs/downlink.md): the document, its CBOR
        // form, COSE_Sign1 signing and the board's checks, pinned city keys with roles.
        .target(
            name: "Downlink",
            dependencies: ["Uplink", "Telemetry", "Lighting", "CivilTime", "SystemSupport"],
            swiftSettings: swiftSettings
        ),

        // The HTTPS client of the uplink (AsyncHTTPClient, SwiftNIO, BoringSSL): only lampd links
        // it, so lampctl stays small (docs/performance.md, "Binary sizes").
        .target(
            name: "UplinkHTTP",
            dependencies: [
                "Uplink",
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTP1", package: "swift-nio"),
                .product(name: "NIOSSL", package: "swift-nio-ssl"),
            ],
            swiftSettings: swiftSettings
        ),

        .executableTarget(
            name: "lampd",
            dependencies: [
                "Agent",
                "LampdConfig",
                "ControlProtocol",
                "UplinkHTTP",
                "Hardware",
                "Telemetry",
                "Clocks",
                "SystemSupport",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "lampctl",
            dependencies: [
                "ControlProtocol",
                "LampdConfig",
                "Hardware",
                "Lighting",
                "Telemetry",
                "Uplink",
                "Clocks",
                "CivilTime",
                "SystemSupport",
                "TextFormatting",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            swiftSettings: swiftSettings
        ),

        // The reference upstream receiver (docs/lamp-ingest.md): enrolment, acceptance rules,
        // durable batch store, HTTP acknowledgement protocol (docs/uplink.md §6), export.
        .target(
            name: "Ingest",
            dependencies: [
                "Uplink", "Downlink", "Telemetry", "SystemSupport",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        // What the city's live view shows, independent of the web (docs/live-view.md): the pole
        // inventory, each pole's live state read from accepted batches, its history, its energy.
        .target(
            name: "FleetView",
            dependencies: [
                "Ingest", "Uplink", "Telemetry", "Lighting", "CivilTime",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),
        // The live view on the web (docs/live-view.md): sign-in, map and list, pole pages, live
        // updates, served by lamp-ingest with Hummingbird and Mustache templates.
        .target(
            name: "LiveView",
            dependencies: [
                "FleetView", "Ingest", "SystemSupport", "Clocks",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HummingbirdAuth", package: "hummingbird-auth"),
                .product(name: "HummingbirdBcrypt", package: "hummingbird-auth"),
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            resources: [.copy("Templates")],
            swiftSettings: swiftSettings
        ),
        .executableTarget(
            name: "lamp-ingest",
            dependencies: [
                "Ingest", "Downlink", "Uplink", "Lighting", "FleetView", "LiveView",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // The fleet simulator (docs/fleet-simulator.md): many boards, each with its own key, sending
        // real signed batches through lampd's own HTTP transport to a lamp-ingest.
        .executableTarget(
            name: "lamp-fleet",
            dependencies: [
                "Uplink", "UplinkHTTP", "Telemetry", "Clocks", "Lighting", "Downlink", "Agent",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Crypto", package: "swift-crypto"),
            ],
            swiftSettings: swiftSettings
        ),

        // Child process of the spool's kill -9 test: appends readings until killed.
        .executableTarget(
            name: "spool-torture",
            dependencies: ["Telemetry", "Clocks"],
            swiftSettings: swiftSettings
        ),

        // Child process of the desired state's kill -9 test: applies documents until killed.
        .executableTarget(
            name: "downlink-torture",
            dependencies: [
                "Agent", "ControlProtocol", "Downlink", "Uplink", "Lighting", "LampdConfig", "Telemetry", "Clocks",
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: swiftSettings
        ),

        // What the test targets share: seeded fuzzing, child processes, peers.
        .target(
            name: "TestSupport",
            dependencies: ["Clocks", "CivilTime"],
            path: "Tests/TestSupport",
            swiftSettings: swiftSettings
        ),

        .testTarget(
            name: "SystemSupportTests",
            dependencies: ["TestSupport", "SystemSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "ClocksTests",
            dependencies: ["TestSupport", "Clocks", "Telemetry"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "CivilTimeTests",
            dependencies: ["TestSupport", "CivilTime"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TextFormattingTests",
            dependencies: ["TestSupport", "TextFormatting"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "HardwareTests",
            dependencies: ["TestSupport", "Hardware", "Clocks"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LightingTests",
            dependencies: ["TestSupport", "Lighting", "CivilTime", "TextFormatting"],
            exclude: ["Reference"],
            resources: [.copy("Fixtures")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TelemetryTests",
            dependencies: ["TestSupport", "Telemetry", "Clocks", "SystemSupport", .product(name: "GRDB", package: "GRDB.swift")],
            // A spool written by the previous layout, read by path (#filePath) in the migration test.
            exclude: ["Fixtures"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "SamplingTests",
            dependencies: ["TestSupport", "Sampling"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "TOMLTests",
            dependencies: ["TestSupport", "TOML"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "AgentTests",
            dependencies: ["TestSupport", "Agent", "Downlink", "Uplink", "Lighting", "LampdConfig", "ControlProtocol", "Clocks", "CivilTime", "SystemSupport"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "UplinkTests",
            dependencies: ["TestSupport", "Uplink", "Telemetry", "Clocks", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "DownlinkTests",
            dependencies: ["TestSupport", "Downlink", "Uplink", "Telemetry", "Lighting", "CivilTime"],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "IngestTests",
            dependencies: ["TestSupport", 
                "Ingest", "Uplink", "Telemetry", "Clocks",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "PostgresNIO", package: "postgres-nio"),
            ],
            swiftSettings: swiftSettings
        ),
        // The simulated board of the FleetView and LiveView tests (signed batches in chain order).
        .target(
            name: "FleetTestSupport",
            dependencies: ["Ingest", "Clocks", "Telemetry", "Uplink"],
            path: "Tests/FleetTestSupport",
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "FleetViewTests",
            dependencies: ["TestSupport", "FleetTestSupport", "FleetView", "Ingest", "Uplink", "Telemetry", "Lighting", "Clocks", .product(name: "Crypto", package: "swift-crypto")],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LiveViewTests",
            dependencies: ["TestSupport", "FleetTestSupport", "LiveView", "FleetView", "Ingest", "Uplink", "Telemetry", "Clocks",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
            ],
            swiftSettings: swiftSettings
        ),
        .testTarget(
            name: "LampctlTests",
            dependencies: ["TestSupport", "Hardware", "ControlProtocol"],
            swiftSettings: swiftSettings
        ),
    ]
)
