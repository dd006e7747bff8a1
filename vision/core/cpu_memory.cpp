#include "vision/core/cpu_memory.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <c10/util/Exception.h>

#include <cstdlib>
#include <new>

#if defined(__linux__)
#include <malloc.h>
#include <sys/mman.h>
#endif

namespace wsss::vision {

#if defined(__linux__) && defined(MADV_HUGEPAGE)
namespace {

constexpr std::size_t kHugePage = std::size_t{2} << 20;
constexpr std::size_t kAlignment = 64; // as LibTorch's own CPU allocator, for its vector kernels

void release(void *p)
{
    std::free(p);
}

class HugePageAllocator final : public c10::Allocator {
public:
    c10::DataPtr allocate(std::size_t bytes) const override
    {
        if (bytes == 0)
            return {nullptr, nullptr, &release, c10::Device(c10::DeviceType::CPU)};
        const bool huge = bytes >= kHugePage;
        void *p = nullptr;
        if (posix_memalign(&p, huge ? kHugePage : kAlignment, bytes) != 0 || !p)
            TORCH_CHECK_WITH(OutOfMemoryError, false, "out of CPU memory: could not allocate ", bytes, " bytes");
        if (huge)
            madvise(p, bytes, MADV_HUGEPAGE); // a hint: without THP the pages are just small
        return {p, p, &release, c10::Device(c10::DeviceType::CPU)};
    }
    c10::DeleterFnPtr raw_deleter() const override { return &release; }
};

} // namespace

bool useHugePagesForLargeTensors()
{
    static HugePageAllocator allocator;
    static const bool installed = [] {
        c10::SetCPUAllocator(&allocator, /*priority=*/1);
        // Blocks under 32 MB (glibc's largest mmap threshold) from the heap, and freed heap kept
        // up to 256 MB: the lattice's and the CRF's per-call buffers are then reused pages, not
        // fresh ones each call.
        mallopt(M_MMAP_THRESHOLD, 32 << 20);
        mallopt(M_TRIM_THRESHOLD, 256 << 20);
        return true;
    }();
    return installed;
}
#else
bool useHugePagesForLargeTensors()
{
    return false;
}
#endif

} // namespace wsss::vision
