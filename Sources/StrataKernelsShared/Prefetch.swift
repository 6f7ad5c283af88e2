import StrataKernelViews

/// Software prefetch from Swift: LLVM's `llvm.prefetch` intrinsic, reached through its symbol
/// name (Swift has no prefetch builtin, and clang's `_mm_prefetch` is a macro the importer cannot
/// see). Compiles to one `prefetcht0` (checked with objdump); it never faults, so any address is
/// allowed.
@_silgen_name("llvm.prefetch.p0")
private func llvmPrefetch(_ address: UnsafeRawPointer, _ write: Int32, _ locality: Int32, _ dataCache: Int32)

/// Asks for the cache line holding `address` to be brought into every cache level.
@inline(__always)
func prefetch(_ address: UnsafeRawPointer) {
    llvmPrefetch(address, 0, 3, 1)
}

/// Prefetches every cache line of `[address, address + bytes)`.
@inline(__always)
func prefetchLines(_ address: UnsafeRawPointer, bytes: Int) {
    var offset = 0
    while offset < bytes { prefetch(address + offset); offset &+= 64 }
}
