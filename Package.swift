// swift-tools-version:6.0
import PackageDescription

let package = Package(
    name: "polarrun",
    platforms: [.macOS(.v13)],
    products: [
        .executable(name: "polarrun", targets: ["polarrun"]),
        .library(name: "PolarRun", targets: ["PolarRun"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.5.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.6.0"),
    ],
    targets: [
        .systemLibrary(name: "CLua", pkgConfig: "lua5.4", providers: [.apt(["liblua5.4-dev"])]),
        .systemLibrary(name: "CLibPQ", pkgConfig: "libpq", providers: [.apt(["libpq-dev"])]),
        // YAML parsing (yaml.load): libyaml's event parser, see Support/YAML.swift.
        .systemLibrary(name: "CLibYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        // C: the call trampoline, wrappers for Lua's macros, the deadline hook, process spawning.
        .target(name: "LuaShim", dependencies: ["CLua"]),
        .target(name: "CSpawn"),
        .target(
            name: "PolarRun",
            dependencies: [
                "CLua", "CLibPQ", "CLibYAML", "LuaShim", "CSpawn",
                .product(name: "Logging", package: "swift-log"),
            ]
        ),
        .executableTarget(
            name: "polarrun",
            dependencies: [
                "PolarRun",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            // The release binary goes into every manager image: without its symbol table it is
            // ~60 MB instead of ~80 MB. Lua tracebacks (Lua-level) are unaffected; a Swift crash
            // backtrace shows addresses only (profile a debug build, or drop this flag locally).
            linkerSettings: [.unsafeFlags(["-Xlinker", "--strip-all"], .when(configuration: .release))]
        ),
        .testTarget(name: "PolarRunTests", dependencies: ["PolarRun"], path: "Tests/PolarRunTests"),
    ],
    swiftLanguageModes: [.v5]
)
