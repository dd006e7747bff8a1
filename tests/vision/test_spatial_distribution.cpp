// USAGE's spatial activation distribution (vision/maps/spatial_distribution.h): the constant
// background channel, the class softmax at a temperature and the τ₁-controlled pooling of
// methods/usage.md §4 (Eq. 7–8), hand-computed on a two-location grid.
#include "support/tensor_compare.h"
#include "vision/maps/spatial_distribution.h"

#include <QtTest/QtTest>

#include <torch/cuda.h>
#include <torch/types.h>

#include <cmath>
#include <limits>

using namespace wsss::vision;

namespace {

const double kLn3 = std::log(3.0);

// One image, one class, a 1×2 grid: z = (0, ln 3).
torch::Tensor twoLocations()
{
    return torch::tensor({0.0, kLn3}, torch::kFloat).view({1, 1, 1, 2});
}

} // namespace

class TestSpatialDistribution : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init() { torch::manual_seed(0); }

    void backgroundIsChannelZero()
    {
        const auto z = torch::randn({2, 3, 4, 5});
        const auto zHat = withConstantBackground(z, 0.7);
        QCOMPARE(zHat.sizes(), (torch::IntArrayRef{2, 4, 4, 5}));
        WSSS_VERIFY_CLOSE(zHat.slice(1, 0, 1), torch::full({2, 1, 4, 5}, 0.7f), 0.0);
        WSSS_VERIFY_CLOSE(zHat.slice(1, 1), z, 0.0);
    }

    void classDistributionHandComputed()
    {
        // ẑ = [0; z]: α_bg = 1/(1 + e^z) = (1/2, 1/4), α_1 = (1/2, 3/4).
        const auto alpha = classDistribution(twoLocations());
        WSSS_VERIFY_CLOSE(alpha, torch::tensor({0.5f, 0.25f, 0.5f, 0.75f}).view({1, 2, 1, 2}), 1e-6);
        // τ = τ₂ = 0.1 (usage.md §5.3): at x = 1 class 1 gets 3^10/(1 + 3^10) = 59049/59050.
        const auto sharp = classDistribution(twoLocations(), 0.1);
        WSSS_VERIFY_CLOSE(sharp[0][1][0], torch::tensor({0.5f, 0.99998307f}), 1e-6);
        // It is α^{1/τ} renormalised over the classes: α^{10} = (2^-10, 4^-10 | 2^-10, 0.75^10).
        const auto powered = alpha.pow(10);
        WSSS_VERIFY_CLOSE(sharp, powered / powered.sum(1, true), 1e-6);
    }

    void poolingHandComputed_data()
    {
        QTest::addColumn<double>("tau1");
        QTest::addColumn<double>("kappa");
        QTest::addColumn<double>("w0");
        QTest::addColumn<double>("score");
        // weights ∝ α_1^{1/τ₁} = (1/2, 3/4)^{1/τ₁}; score = w1·ln 3.
        QTest::newRow("tau1 1 (transformer)") << 1.0 << 0.0 << 0.4 << 0.6 * kLn3;                  // 0.65916737
        QTest::newRow("tau1 0.5") << 0.5 << 0.0 << 0.25 / 0.8125 << 0.5625 / 0.8125 * kLn3;          // 0.76057774
        QTest::newRow("tau1 50 (CNN)") << 50.0 << 0.0 << 0.49797269 << 0.50202731 * kLn3;           // 0.55153338
        // κ = ln 3: α_1 = (1/4, 1/2) → weights (1/3, 2/3), score 2/3·ln 3 = 0.73240819.
        QTest::newRow("kappa ln 3") << 1.0 << kLn3 << 1.0 / 3 << 2.0 / 3 * kLn3;
    }
    void poolingHandComputed()
    {
        QFETCH(double, tau1);
        QFETCH(double, kappa);
        QFETCH(double, w0);
        QFETCH(double, score);
        const auto weights = temperaturePoolingWeights(twoLocations(), tau1, kappa);
        WSSS_VERIFY_CLOSE(weights.flatten(), torch::tensor({w0, 1.0 - w0}), 1e-6);
        const auto s = temperaturePooledScores(twoLocations(), tau1, kappa);
        QCOMPARE(s.sizes(), (torch::IntArrayRef{1, 1}));
        QVERIFY2(std::abs(s.item<double>() - score) < 1e-6, std::to_string(s.item<double>()).c_str());
    }

    void temperatureLimits()
    {
        const auto z = torch::randn({2, 4, 5, 6}) * 2;
        // τ₁ → ∞: global average pooling; τ₁ → 0: the arg-max location of α_c.
        WSSS_VERIFY_CLOSE(temperaturePooledScores(z, 1e6), z.mean({2, 3}), 1e-4);
        const auto alpha = classDistribution(z).slice(1, 1).flatten(2);
        const auto atPeak = z.flatten(2).gather(2, alpha.argmax(2, true)).squeeze(2);
        WSSS_VERIFY_CLOSE(temperaturePooledScores(z, 1e-4), atPeak, 1e-4);
        WSSS_VERIFY_CLOSE(temperaturePoolingWeights(z, 0.3).sum({2, 3}), torch::ones({2, 4}), 1e-5);
    }

    void smallAlphaDoesNotUnderflow()
    {
        // z = (−200, −300): α_1 ≈ e^z, whose float32 power is 0 at both locations (0/0 in the
        // literal Eq. 8). In log space the weights are softmax(z) = (1, e^-100) → score −200.
        const auto z = torch::tensor({-200.0f, -300.0f}).view({1, 1, 1, 2});
        QCOMPARE(torch::exp(z).sum().item<float>(), 0.0f); // the literal form would divide 0 by 0
        const auto s = temperaturePooledScores(z, 1.0);
        QVERIFY(std::isfinite(s.item<float>()));
        QVERIFY(std::abs(s.item<float>() + 200.0f) < 1e-3f);
        QVERIFY(torch::isfinite(temperaturePoolingWeights(z * 10, 0.01)).all().item<bool>());
    }

    void singleLocationGrid()
    {
        // One location: its weight is 1 whatever τ₁, so s̃ = z.
        const auto z = torch::tensor({1.5f, -2.0f, 0.25f}).view({1, 3, 1, 1});
        for (double tau1 : {0.1, 1.0, 50.0})
            WSSS_VERIFY_CLOSE(temperaturePooledScores(z, tau1), z.view({1, 3}), 1e-6);
    }

    void gradientFlowsThroughAlphaUnlessDetached()
    {
        const auto base = torch::randn({1, 2, 3, 3});
        auto z1 = base.clone().requires_grad_(true);
        temperaturePooledScores(z1, 1.0).sum().backward();
        auto z2 = base.clone().requires_grad_(true);
        temperaturePooledScores(z2, 1.0, 0.0, true).sum().backward();
        // Detached, s̃ is linear in z with coefficients = the weights.
        WSSS_VERIFY_CLOSE(z2.grad(), temperaturePoolingWeights(base, 1.0), 1e-6);
        // Through α the gradient differs (attention-like pooling).
        QVERIFY((z1.grad() - z2.grad()).abs().max().item<float>() > 1e-3f);
    }

    void badInputNamesTheValue()
    {
        WSSS_VERIFY_THROWS_WITH(temperaturePooledScores(twoLocations(), 0.0), "tau1 0");
        WSSS_VERIFY_THROWS_WITH(temperaturePoolingWeights(twoLocations(), -1.0), "tau1 -1");
        WSSS_VERIFY_THROWS_WITH(classDistribution(twoLocations(), std::numeric_limits<double>::infinity()), "tau inf");
        WSSS_VERIFY_THROWS_WITH(withConstantBackground(twoLocations(), std::nan("")), "kappa nan");
        WSSS_VERIFY_THROWS_WITH(temperaturePooledScores(torch::zeros({2, 3}), 1.0), "activations [2, 3]");
        WSSS_VERIFY_THROWS_WITH(classDistribution(torch::zeros({1, 0, 2, 2})), "activations [1, 0, 2, 2]");
    }

    void sameOnCuda_CUDA()
    {
        if (!torch::cuda::is_available())
            QSKIP("CUDA is not available");
        const auto z = torch::randn({2, 5, 7, 6});
        const auto gpu = temperaturePooledScores(z.cuda(), 0.5, 0.2);
        QVERIFY(gpu.is_cuda());
        WSSS_VERIFY_CLOSE(gpu.cpu(), temperaturePooledScores(z, 0.5, 0.2), 1e-5);
        WSSS_VERIFY_CLOSE(classDistribution(z.cuda(), 0.1).cpu(), classDistribution(z, 0.1), 1e-5);
    }
};

QTEST_GUILESS_MAIN(TestSpatialDistribution)
#include "test_spatial_distribution.moc"
