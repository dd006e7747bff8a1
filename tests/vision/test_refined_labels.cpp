// AFA's pseudo labels (vision/labels/refined_labels.h) and the multi-scale + flip aggregation
// (vision/maps/multi_scale.h), against the published fixtures of methods/afa.md §7 and against
// independent computations.
#include "support/tensor_compare.h"
#include "vision/labels/refined_labels.h"
#include "vision/maps/multi_scale.h"

#include <QtTest/QtTest>

#include <torch/torch.h>

using namespace wsss::vision;
namespace F = torch::nn::functional;

class TestRefinedLabels : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void combineKeepsConfidentForegroundAndAgreedBackground()
    {
        // Lh class → class; Lh and Ll background → 0; Lh background, Ll class → 255.
        auto high = torch::tensor({2, 0, 0, 1}, torch::kLong).view({1, 1, 4});
        auto low = torch::tensor({2, 0, 3, 1}, torch::kLong).view({1, 1, 4});
        auto out = combineHighLow(high, low);
        const std::vector<std::int64_t> expected{2, 0, 255, 1};
        for (int i = 0; i < 4; ++i)
            QCOMPARE(out.flatten()[i].item<std::int64_t>(), expected[i]);
    }

    void publishedLabelFixture()
    {
        // afa.md §7.4: 16×16, three classes, classes 0 and 2 present, PAR 10 iterations.
        auto ys = torch::arange(16, torch::kFloat).view({16, 1}).expand({16, 16});
        auto xs = torch::arange(16, torch::kFloat).view({1, 16}).expand({16, 16});
        auto image = torch::stack({torch::where(xs >= 8, 0.9f, 0.1f), torch::where(ys >= 8, 0.7f, 0.2f),
                                   torch::fmod(xs + ys, 3) / 10})
                         .unsqueeze(0);
        auto c0 = torch::clamp_min(1 - torch::sqrt((ys - 4).pow(2) + (xs - 4).pow(2)) / 6, 0);
        auto c2 = torch::clamp((xs - 6) / 9, 0, 1);
        auto cams = torch::stack({c0, torch::zeros_like(c0), c2}).unsqueeze(0);
        auto labels = torch::tensor({1.0f, 0.0f, 1.0f}).view({1, 3});
        auto out = refineCamsWithBackground(image, cams, labels)[0];

        // The published result inside the image box (columns 0..11); '.' = 255.
        const char *rows[16] = {"000...003333", "000..0003333", "00..0000.333", "...00000.333",
                                "..0000.03333", ".0000..03333", "0000..003333", "000000003333",
                                "000000003333", "000000003333", "000000003333", "000000003333",
                                "000000003333", "000000003333", "000000003333", "000000003333"};
        int differ = 0;
        QString where;
        for (int y = 0; y < 16; ++y)
            for (int x = 0; x < 12; ++x) {
                const std::int64_t want = rows[y][x] == '.' ? 255 : rows[y][x] - '0';
                if (out[y][x].item<std::int64_t>() != want) {
                    ++differ;
                    where += QString(" (%1,%2)").arg(y).arg(x);
                }
            }
        // The fixture allows a handful of pixels near ties.
        QVERIFY2(differ <= 4, qPrintable(QString("%1 pixels differ:%2").arg(differ).arg(where)));
    }

    void absentClassesNeverWin()
    {
        torch::manual_seed(1);
        auto image = torch::rand({2, 3, 24, 24});
        auto cams = torch::rand({2, 4, 24, 24});
        auto labels = torch::tensor({0.0f, 1.0f, 0.0f, 0.0f, 1.0f, 0.0f, 0.0f, 1.0f}).view({2, 4});
        auto out = refineCamsWithBackground(image, cams, labels);
        auto allowed0 = (out[0] == 0) | (out[0] == 2) | (out[0] == 255);
        auto allowed1 = (out[1] == 0) | (out[1] == 1) | (out[1] == 4) | (out[1] == 255);
        QVERIFY(allowed0.all().item<bool>());
        QVERIFY(allowed1.all().item<bool>());

        // Propagated maps (background first): the same rule.
        auto maps = torch::rand({2, 5, 24, 24}) * torch::cat({torch::ones({2, 1}), labels}, 1).view({2, 5, 1, 1});
        auto prop = refinePropagatedMaps(image, maps, maps * 0.9, labels);
        QVERIFY(((prop[0] == 0) | (prop[0] == 2) | (prop[0] == 255)).all().item<bool>());
    }

    void denormalizeTruncatesTo8Bit()
    {
        // 0.5 on 0..1 with mean 0.5 std 0.25 is x = 0; 0.50196 (128/255 + a little) truncates to 128/255.
        auto x = torch::tensor({0.0f, (128.7f / 255 - 0.5f) / 0.25f, 10.0f}).view({1, 1, 1, 3}).expand({1, 3, 1, 3});
        auto out = denormalizeTo8Bit(x.contiguous(), {0.5f, 0.5f, 0.5f}, {0.25f, 0.25f, 0.25f});
        QCOMPARE(out[0][0][0][0].item<float>(), 127.0f / 255); // 127.5 truncates to 127
        QCOMPARE(out[0][0][0][1].item<float>(), 128.0f / 255);
        QCOMPARE(out[0][0][0][2].item<float>(), 1.0f); // clamped
    }

    void multiScaleFollowsTheRecipe()
    {
        // mapsOf returns the image's first channel: each scale's map is that channel resized
        // down and back up; with Max merging the flip adds nothing for any image (the flip of
        // the flipped image's map is the map), so the result is the sum over scales of
        // resize(resize(x)), rectified and min-max normalised.
        torch::manual_seed(2);
        auto images = torch::randn({2, 3, 16, 16});
        std::vector<std::int64_t> sizes, batches;
        auto mapsOf = [&](const torch::Tensor &x) {
            sizes.push_back(x.size(2));
            batches.push_back(x.size(0));
            return x.slice(1, 0, 1);
        };
        MultiScaleConfig config;
        config.scales = {1.0, 0.5};
        auto out = multiScaleMaps(mapsOf, images, config);
        QCOMPARE(sizes, (std::vector<std::int64_t>{16, 8}));
        QCOMPARE(batches, (std::vector<std::int64_t>{4, 4}));

        auto opts = [](std::int64_t s) {
            return F::InterpolateFuncOptions().size(std::vector<std::int64_t>{s, s}).mode(torch::kBilinear).align_corners(false);
        };
        auto first = images.slice(1, 0, 1);
        auto half = F::interpolate(F::interpolate(first, opts(8)), opts(16));
        auto sum = torch::relu(first) + torch::relu(half);
        auto low = std::get<0>(sum.flatten(2).min(2)).view({2, 1, 1, 1});
        auto high = std::get<0>(sum.flatten(2).max(2)).view({2, 1, 1, 1});
        WSSS_VERIFY_CLOSE(out, (sum - low) / (high - low + 1e-5), 1e-5);
    }

    void multiScaleSumMergeAddsTheMirroredMap()
    {
        // A map that is not flip-equivariant (a constant ramp in x, whatever the image): Sum
        // merges ramp + mirrored ramp = constant.
        auto images = torch::zeros({1, 3, 8, 8});
        auto ramp = [](const torch::Tensor &x) {
            return torch::arange(x.size(3), torch::kFloat).view({1, 1, 1, -1}).expand({x.size(0), 1, x.size(2), x.size(3)});
        };
        MultiScaleConfig config;
        config.scales = {1.0};
        config.merge = FlipMerge::Sum;
        config.normalize = false;
        auto out = multiScaleMaps(ramp, images, config);
        WSSS_VERIFY_CLOSE(out, torch::full({1, 1, 8, 8}, 7.0f), 1e-6);
    }

    void multiScaleMeanMergeAndScaleMaximumAtAGivenSize()
    {
        // Mean of the flip pair: ramp and mirrored ramp average to (W − 1)/2. Each scale's map is
        // the ramp plus its input side, so the maximum over the scales is the largest scale's;
        // every scale is brought to the asked 4 × 4 first.
        auto images = torch::zeros({1, 3, 8, 8});
        auto rampPlusSide = [](const torch::Tensor &x) {
            return torch::arange(x.size(3), torch::kFloat).view({1, 1, 1, -1}).expand({x.size(0), 1, x.size(2), x.size(3)}) +
                   static_cast<float>(x.size(2));
        };
        MultiScaleConfig config;
        config.scales = {1.0, 2.0, 0.5};
        config.merge = FlipMerge::Mean;
        config.scaleMerge = ScaleMerge::Max;
        config.relu = false;
        config.normalize = false;
        config.outputHeight = config.outputWidth = 4;
        auto out = multiScaleMaps(rampPlusSide, images, config);
        WSSS_VERIFY_CLOSE(out, torch::full({1, 1, 4, 4}, 16.0f + 7.5f), 1e-5); // the 16-px scale: ramp mean 7.5
    }

    void scaledSidesAreMultiplesOfThePatch()
    {
        QCOMPARE(scaledSide(64, 0.5, 8), std::int64_t(32));
        QCOMPARE(scaledSide(64, 1.5, 8), std::int64_t(96));
        QCOMPARE(scaledSide(100, 0.75, 16), std::int64_t(80)); // int(75) → nearest multiple of 16
        QCOMPARE(scaledSide(10, 0.1, 8), std::int64_t(8));      // never below one patch
    }

    void badConfigsAreNamed()
    {
        MultiScaleConfig config;
        config.scales = {1.0, -0.5};
        WSSS_VERIFY_THROWS_WITH(config.validate(), "scale");
        RefinedLabelConfig labels;
        labels.low = 0.6;
        WSSS_VERIFY_THROWS_WITH(labels.validate(), "low");
    }
};

QTEST_MAIN(TestRefinedLabels)
#include "test_refined_labels.moc"
