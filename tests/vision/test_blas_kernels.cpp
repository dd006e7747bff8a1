// The start-up check only ever moves OpenBLAS to newer kernels than it chose, never sideways or
// back, and leaves names it does not know alone.
#include "vision/core/blas_kernels.h"

#include <QTest>

using namespace wsss::vision;

class TestBlasKernels : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void olderKernelsAreReplaced()
    {
        QVERIFY(isSlowerBlasCore("Prescott", "SkylakeX"));
        QVERIFY(isSlowerBlasCore("Nehalem", "Haswell"));
        QVERIFY(isSlowerBlasCore("Sandybridge", "Haswell"));
        QVERIFY(isSlowerBlasCore("Haswell", "SkylakeX"));
        QVERIFY(isSlowerBlasCore("PRESCOTT", "skylakex")); // OpenBLAS's case varies by version
    }

    void sameOrNewerKernelsAreKept()
    {
        QVERIFY(!isSlowerBlasCore("SkylakeX", "SkylakeX"));
        QVERIFY(!isSlowerBlasCore("Cooperlake", "SkylakeX"));
        QVERIFY(!isSlowerBlasCore("SapphireRapids", "SkylakeX"));
        QVERIFY(!isSlowerBlasCore("SkylakeX", "Haswell"));
        QVERIFY(!isSlowerBlasCore("Zen", "Haswell"));
    }

    void unknownNamesAreLeftAlone()
    {
        QVERIFY(!isSlowerBlasCore("", "SkylakeX"));           // not OpenBLAS
        QVERIFY(!isSlowerBlasCore("Prescott", ""));           // a CPU without AVX2
        QVERIFY(!isSlowerBlasCore("NeoverseN1", "SkylakeX")); // another architecture's name
    }
};

QTEST_GUILESS_MAIN(TestBlasKernels)
#include "test_blas_kernels.moc"
