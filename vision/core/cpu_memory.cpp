#include "vision/core/cpu_memory.h"

#include <c10/core/Allocator.h>
#include <c10/core/CPUAllocator.h>
#include <c10/util/Exception.h>

#include <algorithm>
#include <cstdlib>
#include <deque>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

#if defined(__linux__)
#include <malloc.h>
#include <sys/mman.h>
#include <unistd.h>
#endif

namespace wsss::vision {

#if defined(__linux__) && defined(MADV_HUGEPAGE)
namespace {

constexpr std::size_t kHugePage = std::size_t{2} << 20;
constexpr std::size_t kAlignment = 64; // as LibTorch's own CPU allocator, for its vector kernels

// Freed blocks of 2 MB and more, kept for the next large tensor they fit. glibc hands blocks over
// 32 MB back to the kernel at once, and the kernel zeroes every page it hands out again: a
// training step makes the same large temporaries every time (AFA's affinity of the 1.5x CAM pass,
// 255 MB at batch 16) and spent half its time zeroing pages. The cache fills up to the process's
// own working set (4.1 GB for AFA's step, whose peak is 3.5 GB) and holds at most `limit` bytes
// (WSSS_CPU_CACHE_MB, 0 to turn it off; default half the memory): a limit below the working set
// only churns, as the oldest blocks go first when a new one would not fit.
class LargeBlockCache {
public:
    static LargeBlockCache &instance()
    {
        static auto *cache = new LargeBlockCache; // never destroyed: tensors may outlive main()
        return *cache;
    }

    // The smallest cached block of at least `rounded` bytes, if it wastes at most half of itself;
    // else nullptr.
    void *take(std::size_t rounded)
    {
        std::lock_guard lock(mutex_);
        auto best = free_.end();
        for (auto it = free_.begin(); it != free_.end(); ++it)
            if (it->bytes >= rounded && it->bytes <= 2 * rounded && (best == free_.end() || it->bytes < best->bytes))
                best = it;
        if (best == free_.end())
            return nullptr;
        void *p = best->p;
        cachedBytes_ -= best->bytes;
        live_.emplace(p, best->bytes);
        free_.erase(best);
        return p;
    }

    void track(void *p, std::size_t rounded)
    {
        std::lock_guard lock(mutex_);
        live_.emplace(p, rounded);
    }

    // Keeps a block it handed out; false (and nothing done) for a pointer it does not know.
    bool give(void *p)
    {
        std::vector<void *> evicted;
        {
            std::lock_guard lock(mutex_);
            const auto it = live_.find(p);
            if (it == live_.end())
                return false;
            const std::size_t bytes = it->second;
            live_.erase(it);
            if (bytes > limit_) {
                evicted.push_back(p);
            } else {
                while (cachedBytes_ + bytes > limit_ && !free_.empty()) {
                    evicted.push_back(free_.front().p);
                    cachedBytes_ -= free_.front().bytes;
                    free_.pop_front();
                }
                free_.push_back({p, bytes});
                cachedBytes_ += bytes;
            }
        }
        for (void *q : evicted)
            std::free(q);
        return true;
    }

    // Hands every cached block back (before giving up on an allocation).
    void flush()
    {
        std::deque<Block> blocks;
        {
            std::lock_guard lock(mutex_);
            blocks.swap(free_);
            cachedBytes_ = 0;
        }
        for (const Block &b : blocks)
            std::free(b.p);
    }

private:
    LargeBlockCache() : limit_(defaultLimit()) {}

    static std::size_t defaultLimit()
    {
        if (const char *mb = std::getenv("WSSS_CPU_CACHE_MB"); mb && *mb)
            return static_cast<std::size_t>(std::strtoull(mb, nullptr, 10)) << 20;
        const long pages = sysconf(_SC_PHYS_PAGES), pageSize = sysconf(_SC_PAGE_SIZE);
        return pages > 0 && pageSize > 0 ? std::size_t(pages) * std::size_t(pageSize) / 2 : 0;
    }

    struct Block {
        void *p;
        std::size_t bytes;
    };
    std::mutex mutex_;
    std::deque<Block> free_;                        // oldest first
    std::unordered_map<void *, std::size_t> live_; // handed out, with their rounded size
    std::size_t cachedBytes_ = 0;
    const std::size_t limit_;
};

void releaseSmall(void *p)
{
    std::free(p);
}

void releaseLarge(void *p)
{
    if (!LargeBlockCache::instance().give(p))
        std::free(p);
}

class HugePageAllocator final : public c10::Allocator {
public:
    c10::DataPtr allocate(std::size_t bytes) const override
    {
        if (bytes == 0)
            return {nullptr, nullptr, &releaseSmall, c10::Device(c10::DeviceType::CPU)};
        if (bytes < kHugePage) {
            void *p = nullptr;
            if (posix_memalign(&p, kAlignment, bytes) != 0 || !p)
                TORCH_CHECK_WITH(OutOfMemoryError, false, "out of CPU memory: could not allocate ", bytes, " bytes");
            return {p, p, &releaseSmall, c10::Device(c10::DeviceType::CPU)};
        }
        const std::size_t rounded = (bytes + kHugePage - 1) / kHugePage * kHugePage;
        auto &cache = LargeBlockCache::instance();
        void *p = cache.take(rounded);
        if (!p) {
            if (posix_memalign(&p, kHugePage, rounded) != 0 || !p) {
                cache.flush(); // the blocks kept for later may be what is missing now
                if (posix_memalign(&p, kHugePage, rounded) != 0 || !p)
                    TORCH_CHECK_WITH(OutOfMemoryError, false, "out of CPU memory: could not allocate ", bytes, " bytes");
            }
            madvise(p, rounded, MADV_HUGEPAGE); // a hint: without THP the pages are just small
            cache.track(p, rounded);
        }
        return {p, p, &releaseLarge, c10::Device(c10::DeviceType::CPU)};
    }
    // raw_deallocate's pointers may be of either size.
    c10::DeleterFnPtr raw_deleter() const override { return &releaseLarge; }
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
