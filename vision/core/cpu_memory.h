#pragma once
// Large CPU tensors on transparent huge pages. LibTorch's CPU allocator takes fresh memory from
// the kernel for every large tensor (glibc maps blocks over 32 MB anew each time), and on a
// virtual machine each 4 KB page fault costs microseconds: a 50 MB tensor spends ~90 ms in
// faults before its first value is written, more than PAR's arithmetic. With MADV_HUGEPAGE the
// same tensor takes 25 faults of 2 MB. Idempotent; call once at start-up, before large tensors
// exist (tensors made before keep their allocator's deleter, so mixing is safe).
namespace wsss::vision {

// Returns false where the platform has no madvise(MADV_HUGEPAGE) (the default allocator stays).
bool useHugePagesForLargeTensors();

} // namespace wsss::vision
