#pragma once
// Large CPU tensors on transparent huge pages. LibTorch's CPU allocator takes fresh memory from
// the kernel for every large tensor (glibc maps blocks over 32 MB anew each time), and on a
// virtual machine each 4 KB page fault costs microseconds: a 50 MB tensor spends ~90 ms in
// faults before its first value is written, more than PAR's arithmetic. With MADV_HUGEPAGE the
// same tensor takes 25 faults of 2 MB. Blocks of 2 MB and more that are freed are kept for the
// next large tensor they fit (up to WSSS_CPU_CACHE_MB, default half the memory; 0 turns it off):
// a training step makes the same large temporaries every time, and fresh pages from the kernel
// are zeroed first. Idempotent; call once at start-up, before large tensors exist (tensors
// made before keep their allocator's deleter, so mixing is safe).
namespace wsss::vision {

// Returns false where the platform has no madvise(MADV_HUGEPAGE) (the default allocator stays).
bool useHugePagesForLargeTensors();

} // namespace wsss::vision
