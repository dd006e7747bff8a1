// Large CPU tensors reuse the blocks earlier ones freed (vision/core/cpu_memory.h): a training
// step that makes the same temporaries every step gets them without fresh pages from the kernel.
#include "vision/core/cpu_memory.h"

#include <ATen/ATen.h>
#include <QTest>

#include <sys/resource.h>

#include <cstdlib>
#include <cstring>

using namespace wsss::vision;

namespace {

at::Tensor floats(std::int64_t megabytes)
{
    return at::empty({megabytes << 18}, at::kFloat); // 4 bytes each
}

long pageFaults()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_minflt;
}

} // namespace

class TestCpuMemory : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase()
    {
        // Test executables start as the programs do (tests/support/process_setup_for_tests.cpp).
        if (!useHugePagesForLargeTensors())
            QSKIP("no madvise(MADV_HUGEPAGE) on this platform: LibTorch's own allocator is used");
        if (const char *mb = std::getenv("WSSS_CPU_CACHE_MB"); mb && std::strcmp(mb, "0") == 0)
            QSKIP("WSSS_CPU_CACHE_MB=0 turns the cache off");
    }

    void aFreedBlockServesTheNextTensorItFits()
    {
        void *first = nullptr;
        {
            auto a = floats(40);
            a.fill_(3.0f);
            first = a.data_ptr();
        }
        auto b = floats(36); // fits the 40 MB block, wasting less than half of it
        QCOMPARE(b.data_ptr(), first);
        const long faults = pageFaults();
        b.fill_(-1.5f); // pages already in memory: a fresh 36 MB would fault 18 (huge) to 9216 times
        QVERIFY2(pageFaults() - faults < 8, qPrintable(QStringLiteral("%1 page faults").arg(pageFaults() - faults)));
        QCOMPARE(b.sum().item<double>(), -1.5 * (36 << 18)); // usable as any new tensor
    }

    void aBlockMoreThanTwiceTheSizeIsLeftForLargerTensors()
    {
        void *large = nullptr;
        {
            auto a = floats(64);
            large = a.data_ptr();
        }
        auto small = floats(8);
        QVERIFY(small.data_ptr() != large);
        auto again = floats(64);
        QCOMPARE(again.data_ptr(), large);
    }

    void twoLiveTensorsNeverShareABlock()
    {
        { auto a = floats(16); }
        auto b = floats(16), c = floats(16);
        QVERIFY(b.data_ptr() != c.data_ptr());
        b.fill_(1.0f);
        c.fill_(2.0f);
        QCOMPARE(b.sum().item<double>(), 1.0 * (16 << 18));
    }
};

QTEST_GUILESS_MAIN(TestCpuMemory)
#include "test_cpu_memory.moc"
