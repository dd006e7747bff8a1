// The start-up check only ever moves OpenBLAS to newer kernels than it chose, never sideways or
// back, and leaves names it does not know alone.
#include "vision/core/blas_kernels.h"

#include <QTest>

#include <cstdlib>

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

    // Test executables start as the programs do (tests/support/process_setup_for_tests.cpp), so
    // this one runs on the fastest kernels the CPU has, whatever OpenBLAS chose on its own.
    void testsRunOnTheFastestKernels()
    {
        const std::string current = blasCoreName(), fastest = fastestBlasCoreForThisCpu();
        if (current.empty())
            QSKIP("LibTorch's BLAS is not OpenBLAS here");
        if (const char *chosen = std::getenv("OPENBLAS_CORETYPE"); chosen && isSlowerBlasCore(current, fastest))
            QSKIP(qPrintable(QStringLiteral("OPENBLAS_CORETYPE=%1 was chosen by whoever ran the test").arg(chosen)));
        QVERIFY2(!isSlowerBlasCore(current, fastest), (current + " is older than " + fastest).c_str());
    }
};

QTEST_GUILESS_MAIN(TestBlasKernels)
#include "test_blas_kernels.moc"
