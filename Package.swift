// swift-tools-version:6.0
import Foundation
import PackageDescription

// Release builds target the build machine's vector ISA (AVX2/AVX-512/NEON) unless
// STRATA_PORTABLE=1 asks for the toolchain's portable baseline.
let portable = ProcessInfo.processInfo.environment["STRATA_PORTABLE"] == "1"
let isaFlags: [SwiftSetting] = portable ? [] : [.unsafeFlags(["-Xcc", "-march=native"])]
let fast: [SwiftSetting] = isaFlags + [.unsafeFlags(["-enforce-exclusivity=unchecked"])]

let package = Package(
    name: "Strata",
    platforms: [.macOS(.v14)],
    products: [
        .executable(name: "strata", targets: ["strata"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        .target(name: "StrataKernels", swiftSettings: fast),
        .target(
            name: "StrataModel",
            dependencies: ["StrataKernels", .product(name: "Logging", package: "swift-log")],
            swiftSettings: fast),
        .target(name: "StrataTokenizer", dependencies: ["StrataModel"], swiftSettings: fast),
        .executableTarget(
            name: "strata",
            dependencies: [
                "StrataKernels", "StrataModel", "StrataTokenizer",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: fast),
        .target(name: "StrataTestSupport", dependencies: ["StrataModel"], path: "Tests/StrataTestSupport"),
        .testTarget(name: "StrataKernelsTests", dependencies: ["StrataKernels", "StrataTestSupport"], swiftSettings: fast),
        .testTarget(
            name: "StrataModelTests", dependencies: ["StrataModel", "StrataTokenizer", "StrataTestSupport"],
            resources: [.copy("Fixtures")], swiftSettings: fast),
        .testTarget(
            name: "StrataTokenizerTests", dependencies: ["StrataTokenizer", "StrataTestSupport"],
            resources: [.copy("Fixtures")], swiftSettings: fast),
    ],
    swiftLanguageModes: [.v5]
)
