// swift-tools-version:6.0
import Foundation
import PackageDescription

// One binary for every CPU of an architecture: everything is built for the toolchain's baseline
// ISA except the kernels, which are compiled once per x86-64 level from one source
// (Sources/StrataKernelsShared, reached through a `Shared` symlink in each variant's directory —
// SwiftPM compiles a directory once per target, and per-target flags are the only way to give
// Swift code a different `-march`). StrataKernels picks a variant at run time from CPUID
// (`STRATA_ISA` overrides). On other architectures every variant is the baseline build.
let fast: [SwiftSetting] = [.unsafeFlags(["-enforce-exclusivity=unchecked"])]
#if arch(x86_64)
let avx2Flags: [SwiftSetting] = [.unsafeFlags(["-Xcc", "-march=x86-64-v3"])]
let avx512Flags: [SwiftSetting] = [.unsafeFlags(["-Xcc", "-march=x86-64-v4"])]
#else
let avx2Flags: [SwiftSetting] = []
let avx512Flags: [SwiftSetting] = []
#endif

/// A kernel variant: the shared source under its own module name, ISA flags and condition.
func kernelVariant(_ name: String, _ condition: String, _ flags: [SwiftSetting]) -> Target {
    .target(name: "StrataKernels\(name)", dependencies: ["StrataKernelViews"],
            swiftSettings: fast + flags + [.define(condition)])
}

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
        .target(name: "StrataKernelViews"),
        kernelVariant("Generic", "STRATA_ISA_GENERIC", []),
        kernelVariant("AVX2", "STRATA_ISA_AVX2", avx2Flags),
        kernelVariant("AVX512", "STRATA_ISA_AVX512", avx512Flags),
        .target(
            name: "StrataKernels",
            dependencies: ["StrataKernelViews", "StrataKernelsGeneric", "StrataKernelsAVX2", "StrataKernelsAVX512"],
            swiftSettings: fast),
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
