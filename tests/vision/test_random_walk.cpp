// Random walks and affinity labels (vision/refine/random_walk.h, affinity_labels.h) against the
// published fixtures of methods/afa.md §8–9 and the independent Python reference.
#include "support/tensor_compare.h"
#include "vision/io/npy.h"
#include "vision/refine/affinity_labels.h"
#include "vision/refine/random_walk.h"

#include <QtTest/QtTest>

#include <torch/cuda.h>
#include <torch/torch.h>
#include <wsss/source_paths.h>

using namespace wsss::vision;

namespace {

torch::Tensor fixture(const std::string &name)
{
    const auto a = readNpy(std::string(WSSS_SOURCE_DIR) + "/tests/fixtures/refine/" + name + ".npy");
    return torch::tensor(a.data).view(a.shape);
}

torch::Tensor symmetricAffinity(std::int64_t n)
{
    auto a = torch::rand({n, n}, torch::kDouble);
    return (a + a.t()) / 2;
}

} // namespace

class TestRandomWalk : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init() { torch::manual_seed(0); }

    void radiusMaskCounts()
    {
        // afa.md §9.1.
        const auto m32 = radiusMask(32, 32, 8);
        QCOMPARE(m32.sum().item<double>(), 222784.0);
        QCOMPARE(m32[0].sum().item<double>(), 81.0);
        QCOMPARE(m32[16 * 32 + 16].sum().item<double>(), 289.0);
        QCOMPARE(radiusMask(48, 48, 8).sum().item<double>(), 553536.0);
        const auto m3 = radiusMask(3, 3, 1).sum(1);
        QCOMPARE(m3[0].item<double>(), 4.0);
        QCOMPARE(m3[1].item<double>(), 6.0);
        QCOMPARE(m3[4].item<double>(), 9.0);
    }

    void plainTransitionColumnsSumToOne()
    {
        RandomWalkConfig plain;
        plain.radius = 2;
        plain.power = 8.0;
        plain.columnOffset = 0.0;
        const auto t = transitionMatrix(symmetricAffinity(42), 6, 7, plain);
        WSSS_VERIFY_CLOSE(t.sum(0), torch::ones({42}, torch::kDouble), 1e-12);
        QCOMPARE(t.mul(radiusMask(6, 7, 2).to(torch::kDouble).eq(0)).abs().sum().item<double>(), 0.0);
    }

    void afaTransitionColumnsSumBelowOne()
    {
        // AFA divides column j by Σ_i A²[i, j] + 0.1, so its sum is s/(s + 0.1).
        const auto a = symmetricAffinity(30);
        RandomWalkConfig afa; // radius 8 covers the whole 5×6 grid
        const auto t = transitionMatrix(a, 5, 6, afa);
        const auto s = a.pow(2).sum(0);
        WSSS_VERIFY_CLOSE(t.sum(0), s / (s + 0.1), 1e-12);
    }

    void afaPublishedPropagation()
    {
        // afa.md §8: classes {0, 2} present, bkg 0.35, no window on a 2×2 grid.
        const auto cams = torch::tensor({0.9, 0.2, 0.1, 0.0, 0.0, 0.3, 0.8, 0.6, 0.5, 0.5, 0.5, 0.5}).view({1, 3, 2, 2});
        const auto a = torch::tensor({1.0, .8, .1, .2, .8, 1.0, .3, .4, .1, .3, 1.0, .9, .2, .4, .9, 1.0}).view({1, 4, 4});
        const auto out = propagateWithBackground(cams, a, torch::tensor({{1.0, 0.0, 1.0}}), 0.35);
        QCOMPARE(out.sizes(), (torch::IntArrayRef{1, 4, 2, 2}));
        WSSS_VERIFY_CLOSE(out[0][0], torch::tensor({0.2714138, 0.2922509, 0.3258600, 0.3258343}).view({2, 2}), 1e-6);
        WSSS_VERIFY_CLOSE(out[0][1], torch::tensor({0.3573824, 0.3179508, 0.2457935, 0.2482069}).view({2, 2}), 1e-6);
        QCOMPARE(out[0][2].abs().sum().item<double>(), 0.0);
        WSSS_VERIFY_CLOSE(out[0][3], torch::tensor({0.3153379, 0.3395470, 0.3785952, 0.3785655}).view({2, 2}), 1e-6);
    }

    void matchesPythonReference()
    {
        const auto a = fixture("rw_affinity").to(torch::kDouble); // [30, 30], a 5×6 grid
        const auto cams = fixture("rw_cams").to(torch::kDouble);  // [3, 5, 6]
        RandomWalkConfig afa;
        afa.radius = 2;
        const auto out = propagateWithBackground(cams.unsqueeze(0), a.unsqueeze(0), fixture("rw_present").unsqueeze(0),
                                                 0.35, afa);
        WSSS_VERIFY_CLOSE(out[0], fixture("rw_afa").to(torch::kDouble), 1e-4);

        RandomWalkConfig psa;
        psa.radius = -1;
        psa.power = 8.0;
        psa.columnOffset = 0.0;
        psa.steps = 4;
        const auto t = transitionMatrix(a, 5, 6, psa);
        const auto walked = randomWalk(cams.view({1, 3, 30}), t, psa.steps);
        WSSS_VERIFY_CLOSE(walked[0], fixture("rw_plain").to(torch::kDouble), 1e-4);
    }

    void unlabelledClassesStayZero()
    {
        const auto cams = torch::rand({2, 4, 3, 3});
        const auto aff = torch::rand({2, 9, 9});
        const auto labels = torch::tensor({{0.0f, 1.0f, 0.0f, 0.0f}, {1.0f, 0.0f, 0.0f, 1.0f}});
        const auto out = propagateWithBackground(cams, aff, labels, 0.55);
        QCOMPARE(out[0][1].abs().sum().item<float>(), 0.0f);
        QCOMPARE(out[0][3].abs().sum().item<float>(), 0.0f);
        QCOMPARE(out[1][2].abs().sum().item<float>(), 0.0f);
        QVERIFY(out[0][2].min().item<float>() > 0.0f);
    }

    void affinityLabelPublishedFixture()
    {
        // afa.md §9.2: 4×4 tokens, each a 16×16 block of a 64×64 map; radius 1.
        const auto tokens = torch::tensor({0, 0, 1, 255, 0, 2, 1, 1, 255, 0, 0, 1, 2, 2, 0, 0}, torch::kLong).view({4, 4});
        const auto map = tokens.repeat_interleave(16, 0).repeat_interleave(16, 1).unsqueeze(0).to(torch::kByte);
        const auto y = affinityLabels(map, 4, 4, 1);
        QCOMPARE(y.sizes(), (torch::IntArrayRef{1, 16, 16}));
        QCOMPARE(y.eq(1).sum().item<std::int64_t>(), std::int64_t(44));
        QCOMPARE(y.eq(0).sum().item<std::int64_t>(), std::int64_t(38));
        const auto row0 = torch::tensor({1, 1, 255, 255, 1, 0, 255, 255, 255, 255, 255, 255, 255, 255, 255, 255});
        const auto row5 = torch::tensor({0, 0, 0, 255, 0, 1, 0, 255, 255, 0, 0, 255, 255, 255, 255, 255});
        QVERIFY(torch::equal(y[0][0].to(torch::kLong), row0));
        QVERIFY(torch::equal(y[0][5].to(torch::kLong), row5));
    }

    void labelTokensPickTopLeftPixel()
    {
        auto map = torch::zeros({1, 6, 6}, torch::kLong);
        map[0][0][3] = 7; // top-left of cell (0, 1) of a 2×2 grid
        map[0][1][1] = 9; // inside cell (0, 0), not its top-left: not picked
        QVERIFY(torch::equal(labelTokens(map, 2, 2), torch::tensor({{0, 7, 0, 0}}, torch::kLong)));
    }

    void runsOnCuda_CUDA()
    {
        if (!torch::cuda::is_available())
            QSKIP("CUDA is not available");
        const auto cams = torch::rand({1, 3, 4, 4});
        const auto aff = torch::rand({1, 16, 16});
        const auto labels = torch::tensor({{1.0f, 0.0f, 1.0f}});
        const auto cpu = propagateWithBackground(cams, aff, labels, 0.35);
        const auto gpu = propagateWithBackground(cams.cuda(), aff.cuda(), labels.cuda(), 0.35);
        QVERIFY(gpu.is_cuda());
        WSSS_VERIFY_CLOSE(gpu.cpu(), cpu, 1e-5);
    }

    void rejectsBadShapes()
    {
        WSSS_VERIFY_THROWS_WITH(transitionMatrix(torch::rand({10, 10}), 3, 3, {}), "N = 3×3 = 9");
        WSSS_VERIFY_THROWS_WITH(randomWalk(torch::rand({1, 2, 5}), torch::rand({4, 4}), 1), "do not match");
        WSSS_VERIFY_THROWS_WITH(propagateWithBackground(torch::rand({1, 3, 2, 2}), torch::rand({1, 4, 4}),
                                                        torch::ones({1, 2}), 0.35),
                                "class labels");
        RandomWalkConfig bad;
        bad.steps = -1;
        WSSS_VERIFY_THROWS_WITH(transitionMatrix(torch::rand({4, 4}), 2, 2, bad), "steps -1");
    }
};

QTEST_APPLESS_MAIN(TestRandomWalk)
#include "test_random_walk.moc"
