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
        .package(url: "https://github.com/apple/swift-protobuf", from: "1.29.0"),
        .package(url: "https://github.com/jpsim/Yams", from: "5.0.0"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.5.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle.git", from: "2.0.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.60.0"),
    ],
    targets: [
        .target(name: "StrataKernels", swiftSettings: fast),
        .target(
            name: "StrataModel",
            dependencies: ["StrataKernels", .product(name: "Logging", package: "swift-log")],
            swiftSettings: fast),
        .target(name: "StrataTokenizer", dependencies: ["StrataModel"], swiftSettings: fast),
        .systemLibrary(
            name: "CZeroMQ", pkgConfig: "libzmq",
            providers: [.apt(["libzmq3-dev"]), .brew(["zeromq"])]),
        .target(
            name: "StrataWire",
            dependencies: [.product(name: "SwiftProtobuf", package: "swift-protobuf")],
            exclude: ["Generated/proto.sha256"]),
        .target(
            name: "StrataTransport",
            dependencies: ["CZeroMQ", "StrataWire", .product(name: "Logging", package: "swift-log")]),
        .target(
            name: "StrataCluster",
            dependencies: [
                "StrataModel", "StrataWire", "StrataTransport",
                .product(name: "Yams", package: "Yams"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .target(
            name: "StrataServer",
            dependencies: [
                "StrataModel", "StrataTokenizer", "StrataCluster",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "Logging", package: "swift-log"),
            ]),
        .executableTarget(
            name: "strata",
            dependencies: [
                "StrataKernels", "StrataModel", "StrataTokenizer", "StrataCluster", "StrataServer",
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
        .testTarget(name: "StrataWireTests", dependencies: ["StrataWire"]),
        .target(
            name: "StrataTransportTesting", dependencies: ["StrataTransport", "StrataWire"],
            path: "Tests/StrataTransportTesting"),
        .testTarget(name: "StrataTransportTests", dependencies: ["StrataTransport", "StrataWire", "StrataTransportTesting"]),
        .testTarget(
            name: "StrataClusterTests",
            dependencies: [
                "StrataCluster", "StrataModel", "StrataTokenizer", "StrataWire", "StrataTestSupport", "StrataTransportTesting",
                .product(name: "Logging", package: "swift-log"),
            ]),
        .testTarget(
            name: "StrataServerTests",
            dependencies: [
                "StrataServer", "StrataCluster", "StrataModel", "StrataTokenizer", "StrataTransport", "StrataWire", "StrataTestSupport",
                .product(name: "Logging", package: "swift-log"),
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ]),
    ],
    swiftLanguageModes: [.v5]
)
