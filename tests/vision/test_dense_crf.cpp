// Dense CRF: output distributions, the unary alone, parity with the Python lattice reference
// (tests/fixtures/crf/make_crf_fixture.py), the lattice against exact Gaussian filtering,
// presets and bad input.
#include "support/tensor_compare.h"
#include "vision/io/npy.h"
#include "vision/refine/dense_crf.h"
#include "vision/refine/permutohedral.h"

#include <nlohmann/json.hpp>
#include <torch/torch.h>
#include <wsss/source_paths.h>

using namespace wsss;

namespace {

torch::Tensor loadFixture(const std::string &name)
{
    auto array = vision::readNpy(std::string(WSSS_SOURCE_DIR) + "/tests/fixtures/crf/" + name + ".npy");
    return torch::from_blob(array.data.data(), array.shape, torch::kFloat).clone();
}

torch::Tensor randomImage(int height, int width)
{
    return torch::randint(0, 256, {height, width, 3}, torch::kByte);
}

torch::Tensor randomProbabilities(int labels, int height, int width)
{
    return torch::softmax(3.0 * torch::randn({labels, height, width}), 0);
}

vision::DenseCrfParams withoutKernels()
{
    vision::DenseCrfParams p;
    p.gaussianCompat = 0.0f;
    p.bilateralCompat = 0.0f;
    return p;
}

// Row-normalised filtering Σ_j k_ij v_j / Σ_j k_ij: the lattice's constant gain cancels.
torch::Tensor latticeAverage(const torch::Tensor &features, const torch::Tensor &values)
{
    const auto n = features.size(0);
    vision::PermutohedralLattice lattice(features.data_ptr<float>(), n, static_cast<int>(features.size(1)));
    auto filtered = torch::empty_like(values);
    auto weight = torch::empty({n, 1});
    const auto ones = torch::ones({n, 1});
    lattice.filter(values.data_ptr<float>(), filtered.data_ptr<float>(), static_cast<int>(values.size(1)));
    lattice.filter(ones.data_ptr<float>(), weight.data_ptr<float>(), 1);
    return filtered / weight;
}

torch::Tensor exactAverage(const torch::Tensor &features, const torch::Tensor &values, double sigma)
{
    auto f = features.to(torch::kDouble) / sigma;
    auto k = torch::exp(-0.5 * (f.unsqueeze(1) - f.unsqueeze(0)).pow(2).sum(-1)); // [N, N]
    return (k.matmul(values.to(torch::kDouble)) / k.sum(1, true)).to(torch::kFloat);
}

double maxAbsDifference(const torch::Tensor &a, const torch::Tensor &b)
{
    return (a - b).abs().max().item<double>();
}

} // namespace

class TestDenseCrf : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init() { torch::manual_seed(0); }

    void everyPixelIsADistribution_data()
    {
        QTest::addColumn<QString>("preset");
        QTest::addColumn<int>("labels");
        for (const char *name : {"psa", "afa", "vitpcm", "irn", "toco"})
            QTest::newRow(name) << name << 4;
        QTest::newRow("psa, one label") << "psa" << 1;
    }

    void everyPixelIsADistribution()
    {
        QFETCH(QString, preset);
        QFETCH(int, labels);
        const int h = 21, w = 34;
        auto q = vision::denseCrf(randomProbabilities(labels, h, w), randomImage(h, w),
                                  vision::denseCrfPreset(preset.toStdString()));
        QCOMPARE(q.sizes().vec(), (std::vector<int64_t>{labels, h, w}));
        QCOMPARE(q.scalar_type(), torch::kFloat);
        QVERIFY(torch::isfinite(q).all().item<bool>());
        QVERIFY(q.min().item<float>() >= 0.0f);
        WSSS_VERIFY_CLOSE(q.sum(0), torch::ones({h, w}), 1e-5);
    }

    void zeroKernelWeightsGiveTheUnarySoftmax()
    {
        // softmax(−U) with U = −ln(clip(p, 1e-5, 1)) is the clipped p over its per-pixel sum;
        // scores above 1 and exact zeros exercise both ends of the clip.
        const int h = 9, w = 13;
        auto scores = torch::rand({3, h, w}) * 1.5;
        scores.index_put_({0, torch::indexing::Slice(0, 3)}, 0.0);
        auto q = vision::denseCrf(scores, randomImage(h, w), withoutKernels());
        auto clipped = scores.clamp(1e-5, 1.0);
        WSSS_VERIFY_CLOSE(q, clipped / clipped.sum(0, true), 1e-6);
    }

    void zeroKernelWeightsGiveTheLabelUnarySoftmax()
    {
        // Hard labels: 0.7 on the label, 0.3/(L − 1) elsewhere.
        const int h = 7, w = 11, labels = 4;
        auto hard = torch::randint(0, labels, {h, w}, torch::kLong);
        auto q = vision::denseCrfFromLabels(hard, labels, randomImage(h, w), withoutKernels(), 0.7f);
        auto expected = torch::full({labels, h, w}, 0.1f);
        expected.scatter_(0, hard.unsqueeze(0), 0.7f);
        WSSS_VERIFY_CLOSE(q, expected, 1e-6);
    }

    void matchesPythonReference_data()
    {
        QTest::addColumn<QString>("preset");
        QTest::addColumn<bool>("fromLabels");
        QTest::newRow("psa, probabilities") << "psa" << false;
        QTest::newRow("afa, probabilities") << "afa" << false;
        QTest::newRow("irn, hard labels") << "irn" << true;
    }

    void matchesPythonReference()
    {
        QFETCH(QString, preset);
        QFETCH(bool, fromLabels);
        const auto image = loadFixture("image").to(torch::kByte); // [24, 32, 3] RGB
        const auto params = vision::denseCrfPreset(preset.toStdString());
        const auto expected = loadFixture("q_" + preset.toStdString()); // [3, 24, 32]
        auto q = fromLabels ? vision::denseCrfFromLabels(loadFixture("labels").to(torch::kLong), 3, image, params)
                            : vision::denseCrf(loadFixture("probs"), image, params);
        // Same lattice in both; float32 here vs float64 there after the geometry.
        WSSS_VERIFY_CLOSE(q, expected, 1e-4);
        QVERIFY(torch::equal(q.argmax(0), expected.argmax(0)));
        // The fixture is only worth matching if the CRF changes labels on it.
        const auto before = fromLabels ? loadFixture("labels").to(torch::kLong) : loadFixture("probs").argmax(0);
        QVERIFY(q.argmax(0).ne(before).sum().item<int64_t>() > 10);
    }

    void latticeIsCloseToExactGaussian_data()
    {
        QTest::addColumn<double>("sxy");
        QTest::newRow("sxy 1") << 1.0;
        QTest::newRow("sxy 3") << 3.0;
        QTest::newRow("sxy 5") << 5.0;
    }

    void latticeIsCloseToExactGaussian()
    {
        // Normalised filtering on a 16×20 grid of a vertical edge, a horizontal edge and noise
        // in [0, 1]. The lattice is an approximation: a (½, 1, ½) blur on a simplex grid about
        // one standard deviation wide, not isotropic, with a self weight that varies with the
        // point's place in its simplex (methods/common.md §1.5). Measured by the Python
        // reference: max error 0.025-0.055 for sxy 1-5, worst across the horizontal edge. 0.08
        // leaves margin, while the exact filter with a width 1.5× off is ≥ 0.13 away (checked
        // below, so a wrong lattice scale fails).
        QFETCH(double, sxy);
        const int h = 16, w = 20;
        auto ys = torch::arange(h, torch::kFloat).view({h, 1}).expand({h, w}).reshape(-1);
        auto xs = torch::arange(w, torch::kFloat).view({1, w}).expand({h, w}).reshape(-1);
        auto features = torch::stack({xs, ys}, 1).div(sxy).contiguous();
        auto values = torch::stack({xs.ge(w / 2).to(torch::kFloat), ys.ge(h / 2).to(torch::kFloat),
                                    torch::rand({h * w})}, 1).contiguous();
        auto lattice = latticeAverage(features, values);
        const double error = maxAbsDifference(lattice, exactAverage(features, values, 1.0));
        QVERIFY2(error < 0.08, std::to_string(error).c_str());
        QVERIFY(maxAbsDifference(lattice, exactAverage(features, values, 1.5)) > 0.08);
        QVERIFY(maxAbsDifference(lattice, exactAverage(features, values, 1.0 / 1.5)) > 0.08);
    }

    void presetsAreTheTableRows()
    {
        const vision::DenseCrfParams defaults;
        QCOMPARE(defaults.gaussianSxy, 3.0f);
        QCOMPARE(defaults.gaussianCompat, 3.0f);
        QCOMPARE(defaults.bilateralSxy, 80.0f);
        QCOMPARE(defaults.bilateralSrgb, 13.0f);
        QCOMPARE(defaults.bilateralCompat, 10.0f);
        QCOMPARE(defaults.iterations, 10);
        QCOMPARE(vision::denseCrfPreset("psa").toJson(), defaults.toJson());
        const auto afa = vision::denseCrfPreset("afa");
        QCOMPARE(afa.bilateralSxy, 64.0f);
        QCOMPARE(afa.bilateralSrgb, 5.0f);
        QCOMPARE(afa.bilateralCompat, 4.0f);
        const auto vitpcm = vision::denseCrfPreset("vitpcm");
        QCOMPARE(vitpcm.gaussianSxy, 1.0f);
        QCOMPARE(vitpcm.bilateralSxy, 67.0f);
        QCOMPARE(vitpcm.bilateralSrgb, 3.0f);
        const auto irn = vision::denseCrfPreset("irn");
        QCOMPARE(irn.bilateralSxy, 50.0f);
        QCOMPARE(irn.bilateralSrgb, 5.0f);
        QCOMPARE(irn.bilateralCompat, 10.0f);
        WSSS_VERIFY_THROWS_WITH(vision::denseCrfPreset("deeplab"), "\"deeplab\"");
    }

    void paramsRoundTripThroughJson()
    {
        const auto params = vision::denseCrfPreset("irn");
        QCOMPARE(vision::DenseCrfParams::fromJson(params.toJson()).toJson(), params.toJson());
        WSSS_VERIFY_THROWS_WITH(vision::DenseCrfParams::fromJson(nlohmann::json{{"sxy", 3}}), "\"sxy\"");
        WSSS_VERIFY_THROWS_WITH(vision::DenseCrfParams::fromJson(nlohmann::json{{"bilateral_srgb", 0}}),
                                "bilateral_srgb");
    }

    // Several background scores over one image share its kernels and give, score by score,
    // exactly the single-score CRF (what the refined threshold sweep relies on).
    void backgroundScoresShareTheKernels()
    {
        const auto maps = torch::rand({2, 20, 24});
        const auto image = torch::randint(0, 256, {20, 24, 3}, torch::kLong).to(torch::kByte);
        const std::vector<float> scores{0.2f, 0.45f, 0.9f};
        const auto all = vision::denseCrfWithBackgrounds(maps, scores, image);
        QCOMPARE(all.sizes().vec(), (std::vector<std::int64_t>{3, 3, 20, 24}));
        for (std::size_t t = 0; t < scores.size(); ++t)
            QVERIFY(torch::equal(all[static_cast<std::int64_t>(t)], vision::denseCrfWithBackground(maps, scores[t], image)));
        QVERIFY(!torch::equal(all[0], all[2]));
        WSSS_VERIFY_THROWS_WITH(vision::denseCrfWithBackgrounds(maps, {0.5f, 0.0f}, image), "must be positive");
        WSSS_VERIFY_THROWS_WITH(vision::denseCrfWithBackgrounds(maps, {0.5f}, image.narrow(0, 0, 10)), "image is 10×24");
    }

    void badInputIsNamed()
    {
        const auto image = randomImage(24, 32);
        WSSS_VERIFY_THROWS_WITH(vision::denseCrf(randomProbabilities(3, 24, 31), image), "image is 24×32");
        WSSS_VERIFY_THROWS_WITH(vision::denseCrf(randomProbabilities(3, 24, 32), randomImage(24, 32).to(torch::kFloat)),
                                "uint8");
        auto nan = randomProbabilities(3, 24, 32);
        nan[1][2][5] = std::numeric_limits<float>::quiet_NaN();
        WSSS_VERIFY_THROWS_WITH(vision::denseCrf(nan, image), "label 1 at pixel (y 2, x 5) is NaN");
        WSSS_VERIFY_THROWS_WITH(vision::denseCrf(torch::empty({0, 24, 32}), image), "0 labels");
        WSSS_VERIFY_THROWS_WITH(vision::denseCrfFromLabels(torch::zeros({24, 32}, torch::kLong), 0, image), "0 labels");
        auto hard = torch::zeros({24, 32}, torch::kLong);
        hard[3][4] = 7;
        WSSS_VERIFY_THROWS_WITH(vision::denseCrfFromLabels(hard, 3, image), "label 7 at pixel (y 3, x 4)");
        WSSS_VERIFY_THROWS_WITH(vision::denseCrfFromLabels(torch::zeros({24, 30}, torch::kLong), 3, image),
                                "image is 24×32");
        auto params = vision::DenseCrfParams{};
        params.gaussianSxy = 0.0f;
        WSSS_VERIFY_THROWS_WITH(vision::denseCrf(randomProbabilities(3, 24, 32), image, params), "gaussian_sxy");
    }

    void resultStaysOnTheInputDevice_CUDA()
    {
        if (!torch::cuda::is_available())
            QSKIP("CUDA is not available");
        const auto image = randomImage(12, 16);
        auto probs = randomProbabilities(3, 12, 16);
        auto q = vision::denseCrf(probs.cuda(), image.cuda());
        QVERIFY(q.is_cuda());
        WSSS_VERIFY_CLOSE(q.cpu(), vision::denseCrf(probs, image), 1e-6);
    }
};

QTEST_APPLESS_MAIN(TestDenseCrf)
#include "test_dense_crf.moc"
