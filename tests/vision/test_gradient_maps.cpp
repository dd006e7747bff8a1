// ACR's map pieces: the token permutation π of patch-permuting views, the gradient
// class-to-patch map, and patch-affinity refinement (A·g and its transpose).
#include "support/tensor_compare.h"
#include "vision/maps/affinity_refine.h"
#include "vision/maps/gradient_maps.h"
#include "vision/maps/token_permutation.h"

#include <torch/torch.h>

using namespace wsss;
using vision::GridTransform;

class TestGradientMaps : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init() { torch::manual_seed(0); }

    void permutationByHand_data()
    {
        QTest::addColumn<QString>("transform");
        QTest::addColumn<QList<qlonglong>>("expected");
        // A 2×3 grid, tokens 0 1 2 / 3 4 5.
        // hflip: 2 1 0 / 5 4 3, so patch 0 sits at index 2, patch 1 at 1, ...
        QTest::newRow("hflip") << "hflip" << QList<qlonglong>{2, 1, 0, 5, 4, 3};
        // vflip: 3 4 5 / 0 1 2.
        QTest::newRow("vflip") << "vflip" << QList<qlonglong>{3, 4, 5, 0, 1, 2};
        // rot180: 5 4 3 / 2 1 0.
        QTest::newRow("rot180") << "rot180" << QList<qlonglong>{5, 4, 3, 2, 1, 0};
        // rot90 (counter-clockwise) gives a 3×2 grid: 2 5 / 1 4 / 0 3; patch 0 is at index 4.
        QTest::newRow("rot90") << "rot90" << QList<qlonglong>{4, 2, 0, 5, 3, 1};
        // rot270 gives 3 0 / 4 1 / 5 2; patch 0 is at index 1.
        QTest::newRow("rot270") << "rot270" << QList<qlonglong>{1, 3, 5, 0, 2, 4};
    }

    void permutationByHand()
    {
        QFETCH(QString, transform);
        QFETCH(QList<qlonglong>, expected);
        const auto pi = vision::tokenPermutation(vision::gridTransformFromName(transform.toStdString()), 2, 3);
        QCOMPARE(pi.numel(), std::int64_t{6});
        for (int i = 0; i < 6; ++i)
            QCOMPARE(pi[i].item<std::int64_t>(), static_cast<std::int64_t>(expected[i]));
    }

    void permutationMatchesTheImageTransform_data()
    {
        QTest::addColumn<QString>("transform");
        QTest::addColumn<int>("height");
        QTest::addColumn<int>("width");
        for (const char *t : {"hflip", "vflip", "rot90", "rot180", "rot270"}) {
            QTest::newRow((std::string(t) + " 4x4").c_str()) << t << 4 << 4;
            QTest::newRow((std::string(t) + " 3x5").c_str()) << t << 3 << 5;
        }
    }

    void permutationMatchesTheImageTransform()
    {
        // Transform a grid holding each patch's own index: the value found at π[t] must be t.
        QFETCH(QString, transform);
        QFETCH(int, height);
        QFETCH(int, width);
        const auto t = vision::gridTransformFromName(transform.toStdString());
        QCOMPARE(vision::gridTransformName(t), transform.toStdString());
        const auto grid = torch::arange(height * width, torch::kLong).reshape({1, height, width});
        const auto moved = vision::applyGridTransform(grid, t).flatten();
        const auto pi = vision::tokenPermutation(t, height, width);
        QVERIFY(torch::equal(moved.index_select(0, pi), torch::arange(height * width, torch::kLong)));
    }

    void rejectsUnknownTransform() { WSSS_VERIFY_THROWS_WITH(vision::gridTransformFromName("shear"), "\"shear\""); }

    void gradientMapByHand()
    {
        // One class, 2 heads, T = 3 (CLS + 2 patches). Class-token rows of the gradients:
        //   block a: head 0 [0.5, -1, 2], head 1 [1.5, 3, -2]
        //            → ReLU per head [0.5, 0, 2], [1.5, 3, 0] → head mean [1.0, 1.5, 1.0]
        //   block b: head 0 [-4, -1, 0.5], head 1 [0, 1, -3] → ReLU → mean [0, 0.5, 0.25]
        // Sum [1.0, 2.0, 1.25]; the patch columns → [2.0, 1.25]. Other rows must not matter.
        auto a = torch::randn({1, 2, 3, 3}) * 10, b = torch::randn({1, 2, 3, 3}) * 10;
        a.select(2, 0).copy_(torch::tensor({{{0.5, -1.0, 2.0}, {1.5, 3.0, -2.0}}}));
        b.select(2, 0).copy_(torch::tensor({{{-4.0, -1.0, 0.5}, {0.0, 1.0, -3.0}}}));
        WSSS_VERIFY_CLOSE(vision::gradientClassToPatch({a, b}), torch::tensor({{2.0, 1.25}}), 1e-6);
        // A head mean before the ReLU would give block a [1.0, 1.0, 0.0]: the order is checked.
        WSSS_VERIFY_CLOSE(vision::gradientClassToPatch({a}), torch::tensor({{1.5, 1.0}}), 1e-6);
        // [heads, T, T] reads as one class.
        WSSS_VERIFY_CLOSE(vision::gradientClassToPatch({a[0]}), torch::tensor({{1.5, 1.0}}), 1e-6);
    }

    void gradientMapFromAutograd()
    {
        // A handmade "network" over two blocks' attention with known derivatives:
        //   z_c = Σ W1[c] ⊙ A1 + Σ W2[c] ⊙ A2²  →  ∂z_c/∂A1 = W1[c], ∂z_c/∂A2 = 2·W2[c] ⊙ A2.
        // Autograd's per-class gradients, through gradientClassToPatch, must equal the map built
        // by explicit loops from those closed forms.
        const int C = 3, heads = 2, T = 5;
        auto A1 = torch::randn({heads, T, T}).softmax(-1).requires_grad_(true);
        auto A2 = torch::randn({heads, T, T}).softmax(-1).requires_grad_(true);
        auto W1 = torch::randn({C, heads, T, T}), W2 = torch::randn({C, heads, T, T});
        std::vector<torch::Tensor> g1, g2;
        for (int c = 0; c < C; ++c) {
            auto z = (W1[c] * A1).sum() + (W2[c] * A2 * A2).sum();
            auto g = torch::autograd::grad({z}, {A1, A2});
            g1.push_back(g[0]);
            g2.push_back(g[1]);
        }
        const auto map = vision::gradientClassToPatch({torch::stack(g1), torch::stack(g2)});
        QCOMPARE(map.sizes().vec(), (std::vector<std::int64_t>{C, T - 1}));
        auto a2 = A2.detach();
        for (int c = 0; c < C; ++c)
            for (int j = 1; j < T; ++j) {
                double expected = 0;
                for (int h = 0; h < heads; ++h) {
                    expected += std::max(0.0f, W1[c][h][0][j].item<float>()) / heads;
                    expected += std::max(0.0f, 2 * W2[c][h][0][j].item<float>() * a2[h][0][j].item<float>()) / heads;
                }
                QVERIFY2(std::abs(map[c][j - 1].item<float>() - expected) < 1e-5,
                         qPrintable(QString("class %1 patch %2: %3 vs %4").arg(c).arg(j - 1)
                                        .arg(map[c][j - 1].item<float>()).arg(expected)));
            }
    }

    void affinityProductOrder()
    {
        // Two patches on a 1×2 grid, R = [[0.9, 0.1], [0.3, 0.7]], g = [1, 2]:
        //   A·g: [0.9·1 + 0.1·2, 0.3·1 + 0.7·2] = [1.1, 1.7]
        //   gᵀ·A: [1·0.9 + 2·0.3, 1·0.1 + 2·0.7] = [1.5, 1.5]
        const auto R = torch::tensor({{0.9, 0.1}, {0.3, 0.7}});
        const auto g = torch::tensor({1.0, 2.0}).reshape({1, 1, 2});
        WSSS_VERIFY_CLOSE(vision::refineWithAffinity(g, R), torch::tensor({1.1, 1.7}).reshape({1, 1, 2}), 1e-6);
        WSSS_VERIFY_CLOSE(vision::refineWithAffinity(g, R, vision::AffinityProduct::MapTimesAffinity),
                          torch::tensor({1.5, 1.5}).reshape({1, 1, 2}), 1e-6);
        QCOMPARE(vision::affinityProductName(vision::affinityProductFromName("g_a")), std::string("g_a"));
        WSSS_VERIFY_THROWS_WITH(vision::affinityProductFromName("ag"), "\"ag\"");
        // Batched maps with a per-image affinity; a wrong patch count names the shapes.
        const auto maps = torch::rand({2, 3, 2, 2}), affinity = torch::rand({2, 4, 4});
        const auto refined = vision::refineWithAffinity(maps, affinity);
        WSSS_VERIFY_CLOSE(refined[1], vision::refineWithAffinity(maps[1], affinity[1]), 1e-6);
        WSSS_VERIFY_THROWS_WITH(vision::refineWithAffinity(maps, torch::rand({5, 5})), "does not match");
    }

    void patchAffinitySumsBlocks()
    {
        // Two blocks, 2 heads, T = 3: R = Σ_blocks mean_heads A[1:, 1:]; the class token's row
        // and column are dropped.
        auto a = torch::rand({2, 3, 3}), b = torch::rand({2, 3, 3});
        const auto R = vision::patchAffinity({a, b});
        QCOMPARE(R.sizes().vec(), (std::vector<std::int64_t>{2, 2}));
        const float expected = (a[0][2][1].item<float>() + a[1][2][1].item<float>()) / 2 +
                               (b[0][2][1].item<float>() + b[1][2][1].item<float>()) / 2;
        QVERIFY(std::abs(R[1][0].item<float>() - expected) < 1e-5);
        // With a batch dimension: one R per image.
        const auto batched = vision::patchAffinity({a.unsqueeze(0), b.unsqueeze(0)});
        WSSS_VERIFY_CLOSE(batched[0], R, 1e-6);
    }
};

QTEST_APPLESS_MAIN(TestGradientMaps)
#include "test_gradient_maps.moc"
