// swift-tools-version: 6.1
// Benchmarks live in their own package so the main build and CI stay light.
// Run: cd Benchmarks && swift build -c release && .build/release/spool-bench all
import PackageDescription

let package = Package(
    name: "lampd-benchmarks",
    platforms: [.macOS(.v14)],
    dependencies: [
        // The identity of a path dependency is its folder name (varies per checkout); pin it to "lampd".
        .package(name: "lampd", path: ".."),
    ],
    targets: [
        .executableTarget(
            name: "spool-bench",
            dependencies: [.product(name: "Telemetry", package: "lampd")],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        ),
        .executableTarget(
            name: "uplink-bench",
            dependencies: [.product(name: "Telemetry", package: "lampd"), .product(name: "Uplink", package: "lampd")],
            swiftSettings: [.enableUpcomingFeature("ExistentialAny")]
        ),
    ]
)
