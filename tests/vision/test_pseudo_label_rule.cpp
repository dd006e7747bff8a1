// PseudoLabelRule (vision/labels/pseudo_label_rule.h): the background decision, the allowed
// classes, the refinements and the JSON that travels with every export.
#include "support/tensor_compare.h"
#include "vision/core/error.h"
#include "vision/core/labels.h"
#include "vision/labels/pseudo_label_maps.h"
#include "vision/metrics/refined_sweep.h"
#include "vision/refine/dense_crf.h"

#include <QtTest/QtTest>

#include <nlohmann/json.hpp>
#include <torch/cuda.h>
#include <torch/torch.h>

#include <cmath>

using namespace wsss::vision;

Q_DECLARE_METATYPE(std::vector<std::uint8_t>)

namespace {

// afa.md §5.3: two classes × 1×4 pixels.
torch::Tensor camToLabelMaps()
{
    return torch::tensor({0.9f, 0.5f, 0.3f, 0.1f, 0.2f, 0.6f, 0.4f, 0.0f}).view({2, 1, 4});
}

std::vector<std::uint8_t> values(const torch::Tensor &labels)
{
    const auto c = labels.cpu().contiguous();
    return {c.data_ptr<std::uint8_t>(), c.data_ptr<std::uint8_t>() + c.numel()};
}

} // namespace

class TestPseudoLabelRule : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init() { torch::manual_seed(0); }

    void publishedCamToLabel_data()
    {
        QTest::addColumn<bool>("band");
        QTest::addColumn<std::vector<std::uint8_t>>("expected");
        QTest::newRow("threshold 0.45") << false << std::vector<std::uint8_t>{1, 2, 0, 0};
        QTest::newRow("band 0.35/0.55") << true << std::vector<std::uint8_t>{1, 2, kIgnoreLabel, 0};
    }
    void publishedCamToLabel()
    {
        QFETCH(bool, band);
        QFETCH(std::vector<std::uint8_t>, expected);
        PseudoLabelRule rule;
        if (band)
            rule.background = BackgroundRule::Band;
        QCOMPARE(values(pseudoLabel(rule, camToLabelMaps(), {1, 2}, {1, 2})), expected);
    }

    void bandEdgesGoDown()
    {
        // v = β_h is inside the band (255), v = β_l is background: Eq. 4 with ties downwards.
        PseudoLabelRule rule;
        rule.background = BackgroundRule::Band;
        const auto maps = torch::tensor({0.55f, 0.35f, 0.5500001f}).view({1, 1, 3});
        QCOMPARE(values(pseudoLabel(rule, maps, {4}, {4})), (std::vector<std::uint8_t>{kIgnoreLabel, 0, 4}));
    }

    void argmaxNeverPicksAnUnlabelledClass_data()
    {
        QTest::addColumn<bool>("band");
        QTest::newRow("threshold") << false;
        QTest::newRow("band") << true;
    }
    void argmaxNeverPicksAnUnlabelledClass()
    {
        QFETCH(bool, band);
        PseudoLabelRule rule;
        rule.bgThreshold = 0.1f;
        if (band)
            rule.background = BackgroundRule::Band;
        auto maps = torch::rand({5, 32, 32});
        maps[2] += 1.0f; // class 3 is the strongest everywhere, but the image is not labelled with it
        const std::vector<int> ids = {1, 2, 3, 4, 5};
        const auto labels = pseudoLabel(rule, maps, ids, {2, 5});
        for (std::uint8_t v : values(labels))
            QVERIFY2(v == 0 || v == 2 || v == 5 || v == kIgnoreLabel, std::to_string(v).c_str());
        // Where class 2 beats class 5 and clears the background, it is chosen.
        const auto expect2 = maps[1].gt(maps[4]).logical_and(maps[1].gt(band ? rule.bandHigh : rule.bgThreshold));
        QVERIFY(labels.eq(2).equal(expect2));
    }

    void nothingLabelledIsAllBackground()
    {
        const auto labels = pseudoLabel({}, torch::rand({3, 4, 4}) + 1.0f, {1, 2, 3}, {});
        QCOMPARE(labels.sum().item<std::int64_t>(), std::int64_t(0));
    }

    void tensorOpsMatchCpu_CUDA()
    {
        if (!torch::cuda::is_available())
            QSKIP("CUDA is not available");
        PseudoLabelRule rule;
        rule.background = BackgroundRule::Band;
        const auto maps = torch::rand({6, 40, 50});
        const std::vector<int> ids = {1, 3, 5, 7, 9, 11};
        const auto cpu = pseudoLabel(rule, maps, ids, {3, 9, 11});
        const auto gpu = pseudoLabel(rule, maps.cuda(), ids, {3, 9, 11});
        QVERIFY(gpu.is_cuda());
        QVERIFY(torch::equal(gpu.cpu(), cpu));
    }

    void refinementsAreSwitchable()
    {
        const auto image = torch::rand({3, 12, 14});
        const auto maps = torch::full({2, 12, 14}, 0.5f);
        PseudoLabelRule rule;
        QVERIFY(refineMaps(rule, image, maps).equal(maps)); // PAR off: untouched
        rule.parIterations = 10;
        WSSS_VERIFY_CLOSE(refineMaps(rule, image, maps), maps * std::pow(1.01, 10), 1e-5);
    }

    void jsonRoundTripAndOlderExports()
    {
        PseudoLabelRule rule;
        rule.bgThreshold = 0.3f;
        rule.background = BackgroundRule::Band;
        rule.bandLow = 0.25f;
        rule.bandHigh = 0.6f;
        rule.parIterations = 15;
        rule.crf = true;
        rule.crfPreset = "vitpcm";
        const auto back = PseudoLabelRule::fromJson(rule.toJson());
        QVERIFY(back.crf);
        QCOMPARE(back.crfPreset, std::string("vitpcm"));
        QCOMPARE(back.bgThreshold, 0.3f);
        QVERIFY(back.background == BackgroundRule::Band);
        QCOMPARE(back.bandLow, 0.25f);
        QCOMPARE(back.bandHigh, 0.6f);
        QCOMPARE(back.parIterations, 15);

        const auto old = PseudoLabelRule::fromJson(nlohmann::json::parse(R"({"bg_threshold": 0.2})"));
        QCOMPARE(old.bgThreshold, 0.2f);
        QVERIFY(old.background == BackgroundRule::Threshold);
        QCOMPARE(old.parIterations, 0);
        QVERIFY(!old.crf);
        QCOMPARE(old.crfPreset, std::string("psa"));
        // A preset that is no row of the table is named with the known ones.
        WSSS_VERIFY_THROWS_WITH(PseudoLabelRule::fromJson(nlohmann::json::parse(R"({"crf_preset": "pydensecrf"})")),
                                "crf_preset \"pydensecrf\" is not one of psa");
    }

    // The rule's preset is the CRF the marginals run: ViT-PCM's row differs from PSA's.
    void crfPresetPicksTheParameters()
    {
        const auto maps = torch::rand({2, 16, 20});
        const auto image = torch::randint(0, 256, {16, 20, 3}, torch::kLong).to(torch::kByte);
        PseudoLabelRule rule;
        rule.crf = true;
        rule.crfPreset = "vitpcm";
        const auto q = crfMarginals(rule, maps, image);
        QVERIFY(torch::equal(q, denseCrfWithBackground(maps, rule.bgThreshold, image, denseCrfPreset("vitpcm"))));
        QVERIFY(!torch::equal(q, denseCrfWithBackground(maps, rule.bgThreshold, image)));
        QVERIFY(torch::equal(crfMarginalsAt(rule, maps, image, {rule.bgThreshold})[0], q));
    }

    void crfLabelsMapChannelsToClasses()
    {
        // Q over [bg; class 4; class 9] at 1×4 pixels: argmax channels (0, 1, 2, 1), the 0.4/0.4 tie
        // at pixel 3 going to the lower channel → labels (0, 4, 9, 4).
        const auto q = torch::tensor({0.5f, 0.2f, 0.1f, 0.2f,   //
                                      0.3f, 0.7f, 0.2f, 0.4f,   //
                                      0.2f, 0.1f, 0.7f, 0.4f})
                           .view({3, 1, 4});
        QCOMPARE(values(labelsFromMarginals(q, {4, 9})), (std::vector<std::uint8_t>{0, 4, 9, 4}));
        WSSS_VERIFY_THROWS_WITH(labelsFromMarginals(q, {4}), "do not match 1 class ids");
    }

    void crfMarginalsFollowTheMaps()
    {
        // A strong class-2 left half on a red left half, nothing on the blue right half: the CRF
        // keeps class 2 (→ id 7) on the left and background (t = 0.45 against 0) on the right; Q
        // sums to 1 per pixel.
        auto maps = torch::zeros({2, 20, 24});
        maps[1].slice(1, 0, 12).fill_(0.95f);
        auto image = torch::zeros({20, 24, 3}, torch::kByte);
        image.slice(1, 0, 12).select(2, 0).fill_(255);
        image.slice(1, 12, 24).select(2, 2).fill_(255);
        PseudoLabelRule rule;
        rule.crf = true;
        const auto q = crfMarginals(rule, maps, image);
        QCOMPARE(q.sizes(), (torch::IntArrayRef{3, 20, 24}));
        WSSS_VERIFY_CLOSE(q.sum(0), torch::ones({20, 24}), 1e-4);
        const auto labels = labelsFromMarginals(q, {3, 7});
        QVERIFY(labels.slice(1, 0, 10).eq(7).all().item<bool>());
        QVERIFY(labels.slice(1, 14, 24).eq(0).all().item<bool>());
    }

    void rejectsBadRules()
    {
        WSSS_VERIFY_THROWS_WITH(PseudoLabelRule::fromJson(nlohmann::json::parse(R"({"crf_iters": 3})")),
                                "unknown key \"crf_iters\"");
        WSSS_VERIFY_THROWS_WITH(
            PseudoLabelRule::fromJson(nlohmann::json::parse(R"({"band_low": 0.6, "band_high": 0.4})")), "band");
        WSSS_VERIFY_THROWS_WITH(PseudoLabelRule::fromJson(nlohmann::json::parse(R"({"background": "otsu"})")),
                                "\"otsu\"");
        WSSS_VERIFY_THROWS_WITH(pseudoLabel({}, torch::rand({2, 3, 3}), {1}, {1}), "do not match 1 class ids");
    }

    void refinedSweepScoresWhatEachThresholdWrites()
    {
        // Two images with two labelled classes of three; at each grid threshold the sweep's matrix
        // must equal scoring the masks refineLabelledPlanes + decideRefined write (as `infer` does).
        const int H = 12, W = 16;
        const auto image = torch::randint(0, 256, {H, W, 3}, torch::kLong).to(torch::kByte);
        const auto image2 = torch::randint(0, 256, {H, W, 3}, torch::kLong).to(torch::kByte);
        const auto maps = torch::rand({3, H, W});
        const auto maps2 = torch::rand({3, H, W});
        const auto gt = torch::randint(0, 4, {H, W}, torch::kLong).to(torch::kByte);
        const auto gt2 = torch::randint(0, 4, {H, W}, torch::kLong).to(torch::kByte);
        PseudoLabelRule rule;
        rule.parIterations = 3;
        rule.crf = true;
        RefinedThresholdSweep sweep(4, rule, 0.25);
        QCOMPARE(sweep.thresholds(), (std::vector<float>{0.25f, 0.5f, 0.75f, 1.0f})); // the CRF's background > 0
        sweep.addImage(gt.data_ptr<std::uint8_t>(), maps, image, {3, 1});
        sweep.addImage(gt2.data_ptr<std::uint8_t>(), maps2, image2, {2});
        for (std::size_t i = 0; i < sweep.thresholds().size(); ++i) {
            PseudoLabelRule at = rule;
            at.bgThreshold = sweep.thresholds()[i];
            ConfusionMatrix direct(4);
            const auto m1 = decideRefined(at, refineLabelledPlanes(at, maps, image, {3, 1}), image).contiguous();
            const auto m2 = decideRefined(at, refineLabelledPlanes(at, maps2, image2, {2}), image2).contiguous();
            direct.add(gt.data_ptr<std::uint8_t>(), m1.data_ptr<std::uint8_t>(), H * W);
            direct.add(gt2.data_ptr<std::uint8_t>(), m2.data_ptr<std::uint8_t>(), H * W);
            for (int g = 0; g < 4; ++g)
                for (int p = 0; p < 4; ++p)
                    QCOMPARE(sweep.matrixAt(i).at(g, p), direct.at(g, p));
            // Only the image's labelled classes are written.
            QVERIFY((m2 == 0).logical_or(m2 == 2).all().item<bool>());
        }
        const auto mious = sweep.mious();
        QCOMPARE(static_cast<int>(mious.size()), 4);
        // Without refinement the grid's points are the plain sweep's at the same thresholds.
        RefinedThresholdSweep plain(4, PseudoLabelRule{}, 0.25);
        ThresholdSweep reference(4);
        plain.addImage(gt.data_ptr<std::uint8_t>(), maps, image, {1, 3});
        reference.addMaps(gt.data_ptr<std::uint8_t>(), maps.contiguous().data_ptr<float>(), 3, {1, 3}, H * W);
        for (int t : {0, 25, 50, 75})
            QCOMPARE(plain.mious()[static_cast<std::size_t>(t / 25)], reference.mious()[static_cast<std::size_t>(t)]);
        // A band rule has no single threshold to sweep.
        PseudoLabelRule band;
        band.background = BackgroundRule::Band;
        QVERIFY_EXCEPTION_THROWN(RefinedThresholdSweep(4, band, 0.1), wsss::Error);
    }
};

QTEST_APPLESS_MAIN(TestPseudoLabelRule)
#include "test_pseudo_label_rule.moc"
