#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// What the CPU (and the OS, for the register state it saves) offers the kernel variants.
///
/// On x86-64 this reads CPUID and XGETBV directly: Swift has no intrinsic for either, and C is
/// kept to the libzmq shim, so the two instructions run from a 40-byte page of machine code mapped
/// executable once (`X86Probe`). /proc/cpuinfo is not used: under user-mode emulation
/// (`qemu-x86_64 -cpu Haswell`) it shows the host's flags, while CPUID shows the emulated CPU's.
public struct CPUFeatures: Sendable, Equatable {
    /// Names of the features present (lowercase, as in /proc/cpuinfo: "avx2", "avx512f", …).
    public let flags: Set<String>

    public init(flags: Set<String>) { self.flags = flags }

    /// The features the ISA variant is compiled to use (its `-march` level).
    public static func required(for isa: KernelISA) -> [String] {
        switch isa {
        case .generic: return []
        case .avx2: return ["avx", "avx2", "fma", "f16c", "bmi1", "bmi2", "lzcnt", "movbe", "xsave-avx"]
        case .avx512: return required(for: .avx2) + ["avx512f", "avx512bw", "avx512cd", "avx512dq", "avx512vl", "xsave-avx512"]
        }
    }

    /// The features `isa` needs that this CPU lacks (empty: the variant runs here).
    public func missing(for isa: KernelISA) -> [String] {
        Self.required(for: isa).filter { !flags.contains($0) }
    }

    /// This machine's features, probed once.
    public static let current: CPUFeatures = {
        #if arch(x86_64) && os(Linux)
        return X86Probe.features() ?? CPUFeatures(flags: [])
        #else
        return CPUFeatures(flags: [])
        #endif
    }()
}

#if arch(x86_64) && os(Linux)
/// CPUID/XGETBV through a tiny mapped routine (System V ABI):
///   cpuid(leaf: edi, subleaf: esi, out: rdx → 4 × UInt32 eax, ebx, ecx, edx)
///   xgetbv(out: rdi → 2 × UInt32 eax, edx), register 0 (XCR0)
enum X86Probe {
    typealias CPUID = @convention(c) (UInt32, UInt32, UnsafeMutablePointer<UInt32>) -> Void
    typealias XGETBV = @convention(c) (UnsafeMutablePointer<UInt32>) -> Void

    static let cpuidCode: [UInt8] = [
        0x53,                   // push rbx
        0x49, 0x89, 0xD0,       // mov r8, rdx
        0x89, 0xF8,             // mov eax, edi
        0x89, 0xF1,             // mov ecx, esi
        0x0F, 0xA2,             // cpuid
        0x41, 0x89, 0x00,       // mov [r8], eax
        0x41, 0x89, 0x58, 0x04, // mov [r8+4], ebx
        0x41, 0x89, 0x48, 0x08, // mov [r8+8], ecx
        0x41, 0x89, 0x50, 0x0C, // mov [r8+12], edx
        0x5B,                   // pop rbx
        0xC3,                   // ret
    ]
    static let xgetbvCode: [UInt8] = [
        0x31, 0xC9,             // xor ecx, ecx
        0x0F, 0x01, 0xD0,       // xgetbv
        0x89, 0x07,             // mov [rdi], eax
        0x89, 0x57, 0x04,       // mov [rdi+4], edx
        0xC3,                   // ret
    ]

    /// nil when no executable page can be mapped (a W^X policy); the caller then runs generic.
    static func features() -> CPUFeatures? {
        let size = 4096
        guard let page = mmap(nil, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0),
              page != MAP_FAILED else { return nil }
        defer { munmap(page, size) }
        let bytes = page.bindMemory(to: UInt8.self, capacity: size)
        for (i, b) in cpuidCode.enumerated() { bytes[i] = b }
        for (i, b) in xgetbvCode.enumerated() { bytes[64 + i] = b }
        guard mprotect(page, size, PROT_READ | PROT_EXEC) == 0 else { return nil }
        let cpuid = unsafeBitCast(page, to: CPUID.self)
        let xgetbv = unsafeBitCast(page + 64, to: XGETBV.self)

        var r = [UInt32](repeating: 0, count: 4)
        func leaf(_ l: UInt32, _ s: UInt32 = 0) -> (eax: UInt32, ebx: UInt32, ecx: UInt32, edx: UInt32) {
            r.withUnsafeMutableBufferPointer { cpuid(l, s, $0.baseAddress!) }
            return (r[0], r[1], r[2], r[3])
        }
        func bit(_ v: UInt32, _ n: UInt32) -> Bool { v & (1 << n) != 0 }

        var flags: Set<String> = []
        let maxLeaf = leaf(0).eax
        guard maxLeaf >= 1 else { return CPUFeatures(flags: flags) }
        let l1 = leaf(1)
        let named1: [(String, UInt32)] = [("fma", 12), ("movbe", 22), ("osxsave", 27), ("avx", 28), ("f16c", 29)]
        for (name, n) in named1 where bit(l1.ecx, n) { flags.insert(name) }
        if maxLeaf >= 7 {
            let l7 = leaf(7)
            let named7: [(String, UInt32)] = [("bmi1", 3), ("avx2", 5), ("bmi2", 8), ("avx512f", 16), ("avx512dq", 17),
                                              ("avx512cd", 28), ("avx512bw", 30), ("avx512vl", 31)]
            for (name, n) in named7 where bit(l7.ebx, n) { flags.insert(name) }
        }
        if leaf(0x8000_0000).eax >= 0x8000_0001, bit(leaf(0x8000_0001).ecx, 5) { flags.insert("lzcnt") }
        if flags.contains("osxsave") {
            var x = [UInt32](repeating: 0, count: 2)
            x.withUnsafeMutableBufferPointer { xgetbv($0.baseAddress!) }
            // XCR0: SSE (1) and AVX (2) state; AVX-512 opmask (5), ZMM_Hi256 (6), Hi16_ZMM (7).
            if x[0] & 0b110 == 0b110 { flags.insert("xsave-avx") }
            if x[0] & 0b1110_0110 == 0b1110_0110 { flags.insert("xsave-avx512") }
        }
        return CPUFeatures(flags: flags)
    }
}
#endif
