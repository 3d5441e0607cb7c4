// swift-tools-version:6.0
import PackageDescription

/// This directory, with a trailing slash (for absolute linker paths).
let packageDirectory = String(#filePath.dropLast("Package.swift".count))

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
        // Lua and libyaml link statically (Debian ships the .a): one shared library fewer to
        // find and relocate at every start. The module maps name the archives (`link ":lib….a"`);
        // no pkgConfig here, or pkg-config's -l flags would bring the shared objects back.
        .systemLibrary(name: "CLua"),
        // YAML parsing (yaml.load): libyaml's event parser, see Support/YAML.swift.
        .systemLibrary(name: "CLibYAML"),
        // C: the call trampoline, wrappers for Lua's macros, the deadline hook, process spawning.
        .target(name: "LuaShim", dependencies: ["CLua"]),
        .target(name: "CSpawn"),
        // libpq, loaded with dlopen on first SQL use (needs libpq-dev's header to build, libpq5 to run SQL).
        .target(name: "CLibPQ", linkerSettings: [.linkedLibrary("dl")]),
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
            // The release binary goes into every manager image, and every operation starts it.
            // Release link: no symbol table (a Swift crash backtrace shows addresses only; Lua
            // tracebacks are unaffected), lld's packed relative relocations (DT_RELR: 7 KB
            // instead of ~900 KB of relocations for the loader to apply), and libstdc++ (the
            // Swift runtime's C++ library) from build-support/static-libs, a link to Debian's
            // libstdc++.a: loading libstdc++.so costs ~1.5 M instructions at every start. -L
            // paths apply to the toolchain's own -lstdc++ too; without the archive (another
            // GCC version) the shared library is found next, as before.
            linkerSettings: [.unsafeFlags(["-Xlinker", "--strip-all", "-use-ld=lld", "-Xlinker", "-z", "-Xlinker", "pack-relative-relocs",
                                           "-L", packageDirectory + "build-support/static-libs"],
                                          .when(configuration: .release))]
        ),
        .testTarget(name: "PolarRunTests", dependencies: ["PolarRun"], path: "Tests/PolarRunTests"),
    ],
    swiftLanguageModes: [.v5]
)
