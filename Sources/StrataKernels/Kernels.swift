@_exported import StrataKernelViews
import StrataKernelsAVX2
import StrataKernelsAVX512
import StrataKernelsGeneric
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// Run-time choice of the kernel variant.
///
/// One release binary carries every variant (each a module compiled from the same source with
/// its own `-march`); the widest one the CPU runs is used unless `STRATA_ISA` names another.
/// Every variant computes bit-identical results (KernelSet), so the choice changes speed only.
public enum Kernels {
    /// Every compiled variant, narrowest first.
    public static let compiled: [KernelSet] = {
        #if arch(x86_64)
        return [StrataKernelsGeneric.kernelSet, StrataKernelsAVX2.kernelSet, StrataKernelsAVX512.kernelSet]
        #else
        return [StrataKernelsGeneric.kernelSet]
        #endif
    }()

    /// The variants this CPU runs, narrowest first (generic always).
    public static func available(on cpu: CPUFeatures = .current) -> [KernelSet] {
        compiled.filter { cpu.missing(for: $0.isa).isEmpty }
    }

    /// The variant `STRATA_ISA` names (generic, avx2, avx512), or the widest available.
    public static func select(environment: [String: String] = ProcessEnvironment.current,
                              cpu: CPUFeatures = .current) throws(KernelSelectionError) -> KernelSet {
        guard let name = environment["STRATA_ISA"], !name.isEmpty else { return available(on: cpu).last! }
        guard let isa = KernelISA(rawValue: name.lowercased()) else { throw .unknown(name) }
        guard let set = compiled.first(where: { $0.isa == isa }) else { throw .notCompiled(isa) }
        let missing = cpu.missing(for: isa)
        guard missing.isEmpty else { throw .unsupported(isa, missing: missing) }
        return set
    }

    /// The process's variant (`select()`; the CLI checks `STRATA_ISA` first and exits with the
    /// error, so the fallback to the widest variant only serves library users).
    public static let active: KernelSet = (try? select()) ?? available().last!
}

/// Why `STRATA_ISA` cannot be honoured.
public enum KernelSelectionError: Error, CustomStringConvertible, Equatable {
    case unknown(String)
    case notCompiled(KernelISA)
    case unsupported(KernelISA, missing: [String])

    public var description: String {
        switch self {
        case .unknown(let name):
            return "STRATA_ISA=\(name): unknown kernel variant (choose one of \(KernelISA.allCases.map(\.rawValue).joined(separator: ", ")))"
        case .notCompiled(let isa):
            return "STRATA_ISA=\(isa.rawValue): this binary has no \(isa.rawValue) kernels (built for another architecture)"
        case .unsupported(let isa, let missing):
            return "STRATA_ISA=\(isa.rawValue): this CPU lacks \(missing.joined(separator: ", "))"
        }
    }
}

/// The process environment as a dictionary (no Foundation in the kernels).
public enum ProcessEnvironment {
    public static var current: [String: String] {
        var out: [String: String] = [:]
        var p = environ
        while let entry = p.pointee {
            let s = String(cString: entry)
            if let eq = s.firstIndex(of: "=") { out[String(s[..<eq])] = String(s[s.index(after: eq)...]) }
            p += 1
        }
        return out
    }
}
