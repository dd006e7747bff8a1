// ViT-PCM's patch-class maps (vision/maps/pcm_maps.h): the per-patch softmax, the label masking
// with max-normalisation of methods/vitpcm.md §4.3 step 4, and the BPM of §7.
#include "support/tensor_compare.h"
#include "vision/maps/pcm_maps.h"

#include <QtTest/QtTest>

#include <torch/cuda.h>
#include <torch/types.h>

#include <cmath>

using namespace wsss::vision;

Q_DECLARE_METATYPE(torch::Tensor)

namespace {

// One image, C = 3 (background, class 1, class 2), a 1×2 grid:
// patch 0 holds (1, 2, 3)/6, patch 1 holds (4, 1, 1)/6.
torch::Tensor twoPatchMaps()
{
    return torch::tensor({1.0f, 4.0f, 2.0f, 1.0f, 3.0f, 1.0f}).view({1, 3, 1, 2}) / 6.0f;
}

} // namespace

class TestPcmMaps : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init() { torch::manual_seed(0); }

    void softmaxPerPatch()
    {
        // Logits (0, ln 2, ln 3) → (1, 2, 3)/6; (ln 4, 0, 0) → (4, 1, 1)/6.
        const auto logits = torch::tensor({0.0, std::log(4.0), std::log(2.0), 0.0, std::log(3.0), 0.0},
                                          torch::kFloat)
                                .view({1, 3, 1, 2});
        const auto z = patchClassMaps(logits);
        WSSS_VERIFY_CLOSE(z, twoPatchMaps(), 1e-6);
        WSSS_VERIFY_CLOSE(patchClassMaps(torch::randn({2, 21, 5, 4}) * 10).sum(1), torch::ones({2, 5, 4}), 1e-5);
    }

    void tokensAreRowMajor()
    {
        // tokens[0][n][c] = 10·n + c on a 2×3 grid: grid[c][r][col] = 10·(3r + col) + c.
        const auto tokens = (torch::arange(6).view({1, 6, 1}) * 10 + torch::arange(2).view({1, 1, 2})).to(torch::kFloat);
        const auto grid = patchTokensToGrid(tokens, 2, 3);
        QCOMPARE(grid.sizes(), (torch::IntArrayRef{1, 2, 2, 3}));
        QCOMPARE(grid[0][1][1][2].item<float>(), 51.0f);
        QCOMPARE(grid[0][0][0][1].item<float>(), 10.0f);
        QCOMPARE(grid[0][1][1][0].item<float>(), 31.0f);
    }

    void maskingHandComputed()
    {
        // t = (1, 0, 1). Z₁: bg (1/6, 4/6), class 1 zeroed, class 2 (3/6, 1/6).
        // Z₂ = Z₁ / max: bg (1/4, 1), class 2 (1, 1/3). Per patch sums 5/4 and 4/3, so
        // Q: bg (0.2, 0.75), class 1 (0, 0), class 2 (0.8, 0.25).
        const auto q = labelMaskedPatchClassMaps(twoPatchMaps(), torch::tensor({{1.0f, 0.0f, 1.0f}}));
        const auto expected = torch::tensor({0.2f, 0.75f, 0.0f, 0.0f, 0.8f, 0.25f}).view({1, 3, 1, 2});
        WSSS_VERIFY_CLOSE(q, expected, 1e-6);
    }

    void allZeroMapsGiveZeroNotNaN_data()
    {
        QTest::addColumn<torch::Tensor>("maps");
        QTest::addColumn<torch::Tensor>("labels");
        QTest::addColumn<torch::Tensor>("expected");
        // Class 2 is present but its map is zero everywhere: it stays 0 (0/0 → 0); bg and
        // class 1 are max-normalised to (1/2, 1) and (1, 1/2), then renormalised per patch.
        QTest::newRow("present class all zero")
            << torch::tensor({0.5f, 1.0f, 1.0f, 0.5f, 0.0f, 0.0f}).view({1, 3, 1, 2})
            << torch::tensor({{1.0f, 1.0f, 1.0f}})
            << torch::tensor({1.0f / 3, 2.0f / 3, 2.0f / 3, 1.0f / 3, 0.0f, 0.0f}).view({1, 3, 1, 2});
        // Patch 0 has mass only on the absent class 1: every channel there is 0 after masking.
        QTest::newRow("patch without a present class")
            << torch::tensor({0.0f, 1.0f, 1.0f, 0.0f}).view({1, 2, 1, 2}) << torch::tensor({{1.0f, 0.0f}})
            << torch::tensor({0.0f, 1.0f, 0.0f, 0.0f}).view({1, 2, 1, 2});
    }
    void allZeroMapsGiveZeroNotNaN()
    {
        QFETCH(torch::Tensor, maps);
        QFETCH(torch::Tensor, labels);
        QFETCH(torch::Tensor, expected);
        const auto q = labelMaskedPatchClassMaps(maps, labels);
        QVERIFY(torch::isfinite(q).all().item<bool>());
        WSSS_VERIFY_CLOSE(q, expected, 1e-6);
    }

    void maskedMapsAreDistributionsOverPresentClasses()
    {
        const auto z = patchClassMaps(torch::randn({3, 21, 6, 6}) * 3);
        auto labels = torch::zeros({3, 21});
        labels.select(1, 0).fill_(1.0f);
        labels[0][5] = 1.0f;
        labels[1][7] = labels[1][12] = 1.0f;
        labels[2][20] = 1.0f;
        const auto q = labelMaskedPatchClassMaps(z, labels);
        WSSS_VERIFY_CLOSE(q.sum(1), torch::ones({3, 6, 6}), 1e-5);
        QCOMPARE((q * (1 - labels).view({3, 21, 1, 1})).abs().max().item<float>(), 0.0f);
        QVERIFY(q.max().item<float>() <= 1.0f);
    }

    void backgroundBitIsAdded()
    {
        const auto t = withBackgroundBit(torch::tensor({{0, 1, 0}, {1, 0, 1}}, torch::kLong));
        QCOMPARE(t.sizes(), (torch::IntArrayRef{2, 4}));
        WSSS_VERIFY_CLOSE(t, torch::tensor({{1.0f, 0.0f, 1.0f, 0.0f}, {1.0f, 1.0f, 0.0f, 1.0f}}), 0.0);
    }

    void pseudoMaskUsesAlignCorners()
    {
        // Q above upsampled 1×2 → 1×3 with align_corners=true samples x = 0, 0.5, 1:
        // bg (0.2, 0.475, 0.75), class 2 (0.8, 0.525, 0.25) → labels (2, 2, 0).
        const auto q = torch::tensor({0.2f, 0.75f, 0.0f, 0.0f, 0.8f, 0.25f}).view({1, 3, 1, 2});
        const auto labels = patchClassPseudoMask(q, 1, 3);
        QCOMPARE(labels.sizes(), (torch::IntArrayRef{1, 1, 3}));
        QVERIFY(labels.equal(torch::tensor({2, 2, 0}, torch::kLong).view({1, 1, 3})));
        // bg (0, 1) against a flat 0.3 crosses at x = 0.3. To width 4, align_corners=true samples
        // x = 0, 1/3, 2/3, 1 → (1, 0, 0, 0); half-pixel centres would sample x = 0, 0.25, 0.75, 1
        // → (1, 1, 0, 0).
        const auto ramp = torch::tensor({0.0f, 1.0f, 0.3f, 0.3f}).view({1, 2, 1, 2});
        QVERIFY(patchClassPseudoMask(ramp, 2, 4).equal(torch::tensor({1, 0, 0, 0}, torch::kLong).repeat({1, 2, 1})));
    }

    void singlePatchGrid()
    {
        const auto z = patchClassMaps(torch::tensor({0.0f, 2.0f, 1.0f}).view({1, 3, 1, 1}));
        const auto q = labelMaskedPatchClassMaps(z, torch::tensor({{1.0f, 1.0f, 1.0f}}));
        // One patch: every present class is its own maximum → Z₂ = 1 each → Q = 1/3 each, and
        // the BPM's ties go to the lowest channel (background).
        WSSS_VERIFY_CLOSE(q.flatten(), torch::full({3}, 1.0f / 3), 1e-6);
        QVERIFY(patchClassPseudoMask(q, 4, 5).eq(0).all().item<bool>());
        QVERIFY(patchClassPseudoMask(z, 4, 5).eq(1).all().item<bool>());
    }

    void badInputNamesTheValue()
    {
        WSSS_VERIFY_THROWS_WITH(patchClassMaps(torch::zeros({1, 1, 2, 2})), "[1, 1, 2, 2]");
        WSSS_VERIFY_THROWS_WITH(patchClassMaps(torch::zeros({3, 2, 2})), "expected [B, C, h, w]");
        WSSS_VERIFY_THROWS_WITH(labelMaskedPatchClassMaps(twoPatchMaps(), torch::tensor({{1.0f, 0.0f}})),
                                "labels [1, 2] do not match maps [1, 3, 1, 2]");
        WSSS_VERIFY_THROWS_WITH(labelMaskedPatchClassMaps(twoPatchMaps(), torch::tensor({{1.0f, 0.5f, 1.0f}})),
                                "must be 0 or 1");
        WSSS_VERIFY_THROWS_WITH(patchTokensToGrid(torch::zeros({1, 5, 3}), 2, 3), "2×3 grid");
        WSSS_VERIFY_THROWS_WITH(patchClassPseudoMask(twoPatchMaps(), 0, 4), "positive size");
    }

    void sameOnCuda_CUDA()
    {
        if (!torch::cuda::is_available())
            QSKIP("CUDA is not available");
        const auto z = patchClassMaps(torch::randn({2, 6, 7, 5}));
        const auto labels = torch::tensor({{1.0f, 0.0f, 1.0f, 1.0f, 0.0f, 0.0f}, {1.0f, 1.0f, 0.0f, 0.0f, 0.0f, 1.0f}});
        const auto cpu = labelMaskedPatchClassMaps(z, labels);
        const auto gpu = labelMaskedPatchClassMaps(z.cuda(), labels.cuda());
        QVERIFY(gpu.is_cuda());
        WSSS_VERIFY_CLOSE(gpu.cpu(), cpu, 1e-6);
        QVERIFY(patchClassPseudoMask(gpu, 30, 20).cpu().equal(patchClassPseudoMask(cpu, 30, 20)));
    }
};

QTEST_GUILESS_MAIN(TestPcmMaps)
#include "test_pcm_maps.moc"
