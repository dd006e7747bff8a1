// ECA's CARM (vision/maps/eca_carm.h) and class prototypes (class_prototypes.h) on hand-built
// graphs, against the order of operations and the defaults of methods/eca.md §7.
#include "support/tensor_compare.h"
#include "vision/core/labels.h"
#include "vision/maps/class_prototypes.h"
#include "vision/maps/eca_carm.h"

#include <QtTest/QtTest>

#include <torch/cuda.h>
#include <torch/types.h>

#include <cmath>

using namespace wsss::vision;

Q_DECLARE_METATYPE(torch::Tensor)

namespace {

constexpr float kEps = 1e-5f; // the official min-max: (x − min)/(max(x − min) + 1e-5)

// A 4-patch graph whose cut at γ = 0.15 is
//   row 0 [1 1 0 0]   (0.15 itself is not above γ)
//   row 1 [1 1 1 0]
//   row 2 [0 1 1 1]
//   row 3 [0 0 1 1]
torch::Tensor handGraph()
{
    return torch::tensor({1.0f, 0.2f, 0.1f, 0.15f,   //
                          0.2f, 1.0f, 0.16f, 0.0f,   //
                          0.1f, 0.16f, 1.0f, 0.5f,   //
                          0.15f, 0.0f, 0.5f, 1.0f})
        .view({1, 4, 4});
}

// Seeds: background {0}, class 1 {2, 3}, class 2 {1} (absent below).
torch::Tensor handSeeds()
{
    return torch::tensor({1, 0, 0, 0, 0, 0, 1, 1, 0, 1, 0, 0}, torch::kBool).view({1, 3, 4});
}

// The CLS cue: −0.5 itself is gated out (not above τ_cls).
torch::Tensor handCue()
{
    return torch::tensor({0.9f, -0.6f, 0.0f, -0.5f}).view({1, 4});
}

torch::Tensor blockUpsample(const torch::Tensor &x, std::int64_t f) // [B, C, h, w] → [B, C, f·h, f·w]
{
    return x.repeat_interleave(f, 2).repeat_interleave(f, 3);
}

} // namespace

class TestEcaCarm : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init() { torch::manual_seed(0); }

    void defaultsAreTheOfficialCode()
    {
        // eca.md §7 (train_final_voc.py get_config): topk 0.3, γ_fg = γ_bg = 0.15, τ_cls −0.5,
        // I_cam background 0.45, bg clamp [0.1, 0.6], momentum 0.99, top-8 update, power 1.5,
        // calibration with ≥ 2 foreground labels; PAR 10 iterations over [1, 2, 4, 8, 12, 24].
        const CarmConfig c;
        QCOMPARE(c.seedFraction, 0.3);
        QCOMPARE(c.affinityThreshold, 0.15);
        QCOMPARE(c.bgAffinityThreshold, 0.15);
        QCOMPARE(c.cueThreshold, -0.5);
        QCOMPARE(c.assignmentBackground, 0.45);
        QCOMPARE(c.bgClampLow, 0.1);
        QCOMPARE(c.bgClampHigh, 0.6);
        QVERIFY(!c.softCue && !c.paperAssignment);
        const PrototypeConfig p;
        QCOMPARE(p.momentum, 0.99);
        QCOMPARE(p.updatePositions, 8);
        QCOMPARE(p.power, 1.5);
        QCOMPARE(p.minForegroundClasses, 2);
        QVERIFY(!p.paperCalibration);
        const ParConfig par;
        QCOMPARE(par.iterations, 10);
        QCOMPARE(par.dilations, (std::vector<int>{1, 2, 4, 8, 12, 24}));
    }

    void seedCountRoundsHalfToEven_data()
    {
        QTest::addColumn<qint64>("assigned");
        QTest::addColumn<double>("fraction");
        QTest::addColumn<qint64>("seeds");
        // round(0.3·n) + 1 with Python's round (eca.md §7 step 5).
        QTest::newRow("n 0: one arbitrary seed") << qint64(0) << 0.3 << qint64(1);
        QTest::newRow("n 1") << qint64(1) << 0.3 << qint64(1);
        QTest::newRow("n 2: round(0.6)") << qint64(2) << 0.3 << qint64(2);
        QTest::newRow("n 5: round(1.5) = 2") << qint64(5) << 0.3 << qint64(3);
        QTest::newRow("n 15: round(4.5) = 4") << qint64(15) << 0.3 << qint64(5);
        QTest::newRow("n 25: round(7.5) = 8") << qint64(25) << 0.3 << qint64(9);
        QTest::newRow("n 4096") << qint64(4096) << 0.3 << qint64(1230);
        QTest::newRow("k 0: zero seeds by the fraction") << qint64(40) << 0.0 << qint64(1);
    }
    void seedCountRoundsHalfToEven()
    {
        QFETCH(qint64, assigned);
        QFETCH(double, fraction);
        QFETCH(qint64, seeds);
        QCOMPARE(qint64(carmSeedCount(assigned, fraction)), seeds);
        if (assigned > 64)
            return;
        // The tensor path picks the same number: class 1 gets `assigned` patches with distinct
        // scores 1, 2, …, the rest of the 64 patches go to the background.
        auto scores = torch::zeros({1, 2, 64});
        auto assignment = torch::zeros({1, 64}, torch::kLong);
        for (qint64 i = 0; i < assigned; ++i) {
            scores[0][1][i] = static_cast<float>(i + 1);
            assignment[0][i] = 1;
        }
        const auto chosen = carmSeeds(scores, assignment, fraction);
        QCOMPARE(chosen[0][1].sum().item<std::int64_t>(), std::int64_t(seeds));
        if (assigned > 0) // the largest scores win: the last `seeds` assigned patches
            QVERIFY(chosen[0][1].slice(0, assigned - seeds, assigned).all().item<bool>());
        else // nothing assigned: one seed among equal zeros, the lowest index
            QVERIFY(chosen[0][1][0].item<bool>());
    }

    void seedsOnlyAmongAssignedPatches()
    {
        // bg scores (0.9, 0.8, 0, 0, 0.1, 0), class 1 (0.1, 0.2, 0.9, 0.7, 0.6, 0.5);
        // I_cam = (0, 0, 1, 1, 1, 1). V_bg = (0.9, 0.8, 0, 0, 0, 0): n = 2 → 2 seeds {0, 1}
        // (0.1 at patch 4 is not assigned to bg). V_1 = (0, 0, 0.9, 0.7, 0.6, 0.5): n = 4 →
        // round(1.2) + 1 = 2 seeds {2, 3}.
        const auto scores = torch::tensor({0.9f, 0.8f, 0.0f, 0.0f, 0.1f, 0.0f, 0.1f, 0.2f, 0.9f, 0.7f, 0.6f, 0.5f})
                                .view({1, 2, 6});
        const auto assignment = torch::tensor({0, 0, 1, 1, 1, 1}, torch::kLong).view({1, 6});
        const auto seeds = carmSeeds(scores, assignment, 0.3);
        QVERIFY(seeds.equal(torch::tensor({1, 1, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0}, torch::kBool).view({1, 2, 6})));
    }

    // A labelled class whose CAM wins no patch: the official count gives it one seed, the first
    // patch (the top-left corner, usually background); seedUnassigned = false gives it none.
    void anUnassignedClassGetsTheCornerOrNoSeed()
    {
        // I_cam = (0, 0, 0, 0): the background wins every patch; class 1 scores 0.9 at patch 3.
        const auto scores = torch::tensor({0.9f, 0.8f, 0.7f, 0.6f, 0.0f, 0.0f, 0.0f, 0.9f}).view({1, 2, 4});
        const auto assignment = torch::zeros({1, 4}, torch::kLong);
        const auto official = carmSeeds(scores, assignment, 0.3);
        QVERIFY(official[0][1].equal(torch::tensor({1, 0, 0, 0}, torch::kBool)));
        const auto none = carmSeeds(scores, assignment, 0.3, /*seedUnassigned=*/false);
        QCOMPARE(none[0][1].sum().item<std::int64_t>(), std::int64_t{0});
        QVERIFY(none[0][0].equal(official[0][0])); // an assigned class is as before: round(1.2) + 1 = 2 seeds
        QCOMPARE(none[0][0].sum().item<std::int64_t>(), std::int64_t{2});
    }

    void keyCosineGraphAndCue()
    {
        // k = (1, 0), (0, 2), (3, 3): unit rows (1, 0), (0, 1), (1, 1)/√2.
        const auto keys = torch::tensor({1.0f, 0.0f, 0.0f, 2.0f, 3.0f, 3.0f}).view({1, 3, 2});
        const float r = 1.0f / std::sqrt(2.0f);
        WSSS_VERIFY_CLOSE(keyAffinity(keys),
                          torch::tensor({1.0f, 0.0f, r, 0.0f, 1.0f, r, r, r, 1.0f}).view({1, 3, 3}), 1e-6);
        // q_CLS = (2, 0) → a = (1, 0, 1/√2).
        WSSS_VERIFY_CLOSE(clsForegroundCue(torch::tensor({{2.0f, 0.0f}}), keys), torch::tensor({{1.0f, 0.0f, r}}),
                          1e-6);
        // A zero key has no direction: its row is 0, not NaN.
        const auto zero = keyAffinity(torch::tensor({0.0f, 0.0f, 1.0f, 0.0f}).view({1, 2, 2}));
        WSSS_VERIFY_CLOSE(zero, torch::tensor({0.0f, 0.0f, 0.0f, 1.0f}).view({1, 2, 2}), 0.0);
    }

    void graphSizeAtTheDefaultCrop()
    {
        // eca.md §7: at 512 px the S/8 guider has a 64×64 grid, so G is 4096×4096.
        const auto g = keyAffinity(torch::randn({1, 64 * 64, 8}));
        QCOMPARE(g.sizes(), (torch::IntArrayRef{1, 4096, 4096}));
        WSSS_VERIFY_CLOSE(g[0].diagonal(), torch::ones({4096}), 1e-5);
    }

    void countsGateAndNormalisation()
    {
        // bg: seed 0 → row 0 = (1, 1, 0, 0) → min-max (1, 1, 0, 0)/(1 + 1e-5).
        // class 1: seeds 2, 3 → rows 2 + 3 = (0, 1, 2, 2); gate [a > −0.5] = (1, 0, 1, 0) →
        // (0, 0, 2, 0) → (0, 0, 2/(2 + 1e-5), 0). class 2 is absent → 0.
        const auto present = torch::tensor({{1.0f, 1.0f, 0.0f}});
        const auto r = classAwareAffinity(handGraph(), handSeeds(), handCue(), present);
        const auto expected = torch::tensor({1 / (1 + kEps), 1 / (1 + kEps), 0.0f, 0.0f,  //
                                             0.0f, 0.0f, 2 / (2 + kEps), 0.0f,           //
                                             0.0f, 0.0f, 0.0f, 0.0f})
                                  .view({1, 3, 4});
        WSSS_VERIFY_CLOSE(r, expected, 1e-7);
    }

    void paperSoftCueAndSeparateBackgroundThreshold()
    {
        const auto present = torch::tensor({{1.0f, 1.0f, 0.0f}});
        // Soft cue (paper Eq. 5/7): (0, 1, 2, 2) ⊙ (0.9, −0.6, 0, −0.5) = (0, −0.6, 0, −1) →
        // min-max (1, 0.4, 1, 0)/(1 + 1e-5).
        CarmConfig soft;
        soft.softCue = true;
        const auto r = classAwareAffinity(handGraph(), handSeeds(), handCue(), present, soft);
        WSSS_VERIFY_CLOSE(r[0][1], torch::tensor({1.0f, 0.4f, 1.0f, 0.0f}) / (1 + kEps), 1e-6);
        // γ_bg = 0.25 cuts 0.2: the background row becomes (1, 0, 0, 0); class 1 is unchanged.
        CarmConfig bg;
        bg.bgAffinityThreshold = 0.25;
        const auto rb = classAwareAffinity(handGraph(), handSeeds(), handCue(), present, bg);
        WSSS_VERIFY_CLOSE(rb[0][0], torch::tensor({1.0f, 0.0f, 0.0f, 0.0f}) / (1 + kEps), 1e-7);
        WSSS_VERIFY_CLOSE(rb[0][1], torch::tensor({0.0f, 0.0f, 2.0f / (2 + kEps), 0.0f}), 1e-7);
    }

    void seedInputsHandComputed()
    {
        // 2×2 grid from 4×4 block-constant maps (bilinear, align_corners=false, halves: the
        // mean of each 2×2 block = the block value). M1 = (0.9, 0.2 | 0.1, 0.5),
        // M2 = (0.3, 0.6 | 0, 0.4), ŷ = (1, 0); the bottom-right block is outside the box.
        const auto grid = torch::tensor({0.9f, 0.2f, 0.1f, 0.5f, 0.3f, 0.6f, 0.0f, 0.4f}).view({1, 2, 2, 2});
        const auto cams = blockUpsample(grid, 2);
        const auto box = blockUpsample(torch::tensor({1, 1, 1, 0}, torch::kBool).view({1, 1, 2, 2}), 2).squeeze(1);
        const auto in = carmSeedInputs(cams, torch::tensor({{1.0f, 0.0f}}), box, 2, 2);
        // scores: bg = 1 − max(M1, M2) = (0.1, 0.4 | 0.9, 0.5), 0 outside the box; M1; M2 unmasked.
        WSSS_VERIFY_CLOSE(in.scores[0][0], torch::tensor({0.1f, 0.4f, 0.9f, 0.0f}).view({2, 2}), 1e-6);
        WSSS_VERIFY_CLOSE(in.scores.slice(1, 1), grid, 1e-6);
        // I_cam = argmax(0.45, M1, 0·M2) = (1, 0 | 0, 1).
        QVERIFY(in.assignment.equal(torch::tensor({1, 0, 0, 1}, torch::kLong).view({1, 2, 2})));
        // Paper Eq. 2–3: bg = 1 − max M = (0.1, 0.4 | 0.9, 0.5): the 0.5/0.5 tie goes to bg.
        CarmConfig paper;
        paper.paperAssignment = true;
        const auto p = carmSeedInputs(cams, torch::tensor({{1.0f, 0.0f}}), box, 2, 2, paper);
        QVERIFY(p.assignment.equal(torch::tensor({1, 0, 0, 0}, torch::kLong).view({1, 2, 2})));
    }

    void oneScaleEndToEnd()
    {
        // 2×2 grid: top row is class 1 (keys (1, 0)), bottom row background (keys (0, 1)), so
        // G is block-diagonal. M1 = (0.9, 0.8 | 0.1, 0) → I_cam = (1, 1, 0, 0); bg scores
        // 1 − M1 = (0.1, 0.2, 0.9, 1). Each class has n = 2 → 2 seeds: bg {2, 3}, class 1 {0, 1}.
        // Counts: bg (0, 0, 2, 2), class 1 (2, 2, 0, 0); min-max → 2/(2 + 1e-5).
        const auto cams = torch::tensor({0.9f, 0.8f, 0.1f, 0.0f}).view({1, 1, 2, 2});
        const auto keys = torch::tensor({1.0f, 0.0f, 1.0f, 0.0f, 0.0f, 1.0f, 0.0f, 1.0f}).view({1, 4, 2});
        const auto labels = torch::tensor({{1.0f}});
        const float v = 2 / (2 + kEps);
        const auto r = carmAtScale(cams, labels, {}, keys, torch::tensor({{1.0f, 0.0f}}), 2, 2);
        QCOMPARE(r.sizes(), (torch::IntArrayRef{1, 2, 2, 2}));
        WSSS_VERIFY_CLOSE(r, torch::tensor({0.0f, 0.0f, v, v, v, v, 0.0f, 0.0f}).view({1, 2, 2, 2}), 1e-6);
        // A CLS query opposite to the object's keys (cue −1 ≤ −0.5) gates class 1 out entirely.
        const auto gated = carmAtScale(cams, labels, {}, keys, torch::tensor({{-1.0f, 0.0f}}), 2, 2);
        QCOMPARE(gated[0][1].abs().max().item<float>(), 0.0f);
        WSSS_VERIFY_CLOSE(gated[0][0], r[0][0], 0.0);
        // Unlabelled: class 1's channel is 0 and its patches are no seeds of anything.
        const auto none = carmAtScale(cams, torch::tensor({{0.0f}}), {}, keys, torch::tensor({{1.0f, 0.0f}}), 2, 2);
        QCOMPARE(none[0][1].abs().max().item<float>(), 0.0f);
    }

    void centredKeysSeparateAGuiderWhoseKeysShareADirection()
    {
        // The scene of oneScaleEndToEnd with (10, 10) added to every key, as a weak guider's keys
        // share one direction: every cosine is ≥ 0.995 > 0.15, so each seed reaches every patch,
        // all counts are equal and min-max leaves nothing.
        const auto cams = torch::tensor({0.9f, 0.8f, 0.1f, 0.0f}).view({1, 1, 2, 2});
        const auto keys = torch::tensor({11.0f, 10.0f, 11.0f, 10.0f, 10.0f, 11.0f, 10.0f, 11.0f}).view({1, 4, 2});
        const auto labels = torch::tensor({{1.0f}});
        const auto cls = torch::tensor({{1.0f, 0.0f}});
        const auto official = carmAtScale(cams, labels, {}, keys, cls, 2, 2);
        QCOMPARE(official.abs().max().item<float>(), 0.0f);
        // Centred: (±0.5, ∓0.5), the two rows opposite (cosine −1), so the graph is the block
        // diagonal of oneScaleEndToEnd and so are the CARMs.
        CarmConfig centred;
        centred.centerKeys = true;
        WSSS_VERIFY_CLOSE(guiderKeys(keys, centred),
                          torch::tensor({0.5f, -0.5f, 0.5f, -0.5f, -0.5f, 0.5f, -0.5f, 0.5f}).view({1, 4, 2}), 1e-6);
        QVERIFY(guiderKeys(keys, CarmConfig{}).equal(keys));
        const float v = 2 / (2 + kEps);
        WSSS_VERIFY_CLOSE(carmAtScale(cams, labels, {}, keys, cls, 2, 2, centred),
                          torch::tensor({0.0f, 0.0f, v, v, v, v, 0.0f, 0.0f}).view({1, 2, 2, 2}), 1e-6);
    }

    void anEmptyCamMakesTheCornersCarmUnlessUnseeded()
    {
        // A 2×2 grid whose class 1 has an empty CAM (the classifier missed the item): every patch
        // goes to the background. Officially class 1 still gets one seed, patch 0, and its CARM is
        // the patches whose keys are like patch 0's: 0 and 2, keys (0, 1), here the background's
        // (on the demo that corner is background too). Unseeded, the CARM is empty.
        const auto cams = torch::zeros({1, 1, 2, 2});
        const auto keys = torch::tensor({0.0f, 1.0f, 1.0f, 0.0f, 0.0f, 1.0f, 1.0f, 0.0f}).view({1, 4, 2});
        const auto labels = torch::tensor({{1.0f}});
        const auto cls = torch::tensor({{1.0f, 1.0f}});
        const float v = 1 / (1 + kEps);
        // Patch 0 (a "background" key (0, 1)) seeds class 1: its CARM is the background's patches 0, 2.
        WSSS_VERIFY_CLOSE(carmAtScale(cams, labels, {}, keys, cls, 2, 2)[0][1],
                          torch::tensor({v, 0.0f, v, 0.0f}).view({2, 2}), 1e-6);
        CarmConfig unseeded;
        unseeded.seedUnassigned = false;
        QCOMPARE(carmAtScale(cams, labels, {}, keys, cls, 2, 2, unseeded)[0][1].abs().max().item<float>(), 0.0f);
    }

    void singlePatchGrid()
    {
        // One patch: every count is 1 or 0 and min-max of a single value is 0.
        const auto r = carmAtScale(torch::full({1, 2, 8, 8}, 0.7f), torch::tensor({{1.0f, 1.0f}}), {},
                                   torch::randn({1, 1, 4}), torch::randn({1, 4}), 1, 1);
        QCOMPARE(r.sizes(), (torch::IntArrayRef{1, 3, 1, 1}));
        QVERIFY(torch::isfinite(r).all().item<bool>());
        QCOMPARE(r.abs().max().item<float>(), 0.0f);
    }

    void fuseScalesHandComputed()
    {
        // Scale 1 (2×2): bg (0, 0.2 | 0.4, 1), class 1 (1, 0 | 0, 0), class 2 absent (0).
        // Scale 0.5 (1×1): bg 0, class 1 0.5 → upsampled to 0.5 everywhere.
        // Sum: class 1 (1.5, 0.5 | 0.5, 0.5) → min-max (1/(1 + 1e-5), 0, 0, 0);
        // bg (0, 0.2, 0.4, 1)/(1 + 1e-5) → clamped to [0.1, 0.6] → (0.1, 0.2, 0.4, 0.6).
        const auto s1 = torch::tensor({0.0f, 0.2f, 0.4f, 1.0f, 1.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f, 0.0f}).view({1, 3, 2, 2});
        const auto s05 = torch::tensor({0.0f, 0.5f, 0.0f}).view({1, 3, 1, 1});
        const auto fused = fuseCarmScales({s1, s05}, 2, 2);
        const auto expected = torch::tensor({0.1f, 0.2f / (1 + kEps), 0.4f / (1 + kEps), 0.6f,  //
                                             1 / (1 + kEps), 0.0f, 0.0f, 0.0f,               //
                                             0.0f, 0.0f, 0.0f, 0.0f})
                                  .view({1, 3, 2, 2});
        WSSS_VERIFY_CLOSE(fused, expected, 1e-6);
    }

    void pseudoLabelArgmaxAndBox()
    {
        // Class 1 left, class 2 right (mirror images), bg 0.2: after resize and PAR (on a
        // constant image, mirror-symmetric) the left half is 1, the right half 2; the last row
        // is outside the box → 255. There is no ignore band.
        const auto carm = torch::tensor({0.2f, 0.2f, 0.5f, 0.1f, 0.1f, 0.5f}).view({1, 3, 1, 2});
        const auto image = torch::full({1, 3, 4, 4}, 0.5f);
        auto box = torch::ones({1, 8, 8}, torch::kBool);
        box[0][7].fill_(false);
        const auto labels = carmPseudoLabel(carm, image, box, 8, 8);
        QCOMPARE(labels.sizes(), (torch::IntArrayRef{1, 8, 8}));
        QCOMPARE(labels.scalar_type(), torch::kByte);
        const auto row = torch::tensor({1, 1, 1, 1, 2, 2, 2, 2}, torch::kByte);
        for (int y = 0; y < 7; ++y)
            QVERIFY(labels[0][y].equal(row));
        QVERIFY(labels[0][7].eq(kIgnoreLabel).all().item<bool>());
    }

    void prototypeSimilarity()
    {
        // P = ((1, 0), (0, 2)); r = (1, 1), (0, −3) → cos (1/√2, 0 | 1/√2, −1).
        ClassPrototypes bank(torch::tensor({1.0f, 0.0f, 0.0f, 2.0f}).view({2, 2}));
        const auto features = torch::tensor({1.0f, 0.0f, 1.0f, -3.0f}).view({2, 1, 2});
        const float r = 1.0f / std::sqrt(2.0f);
        WSSS_VERIFY_CLOSE(bank.similarity(features), torch::tensor({r, 0.0f, r, -1.0f}).view({2, 1, 2}), 1e-6);
    }

    void calibrationAndMomentumUpdate_data()
    {
        QTest::addColumn<torch::Tensor>("labels");
        QTest::addColumn<bool>("paper");
        QTest::addColumn<torch::Tensor>("expected"); // class channels 1, 2
        QTest::addColumn<torch::Tensor>("bank");
        const float s = std::pow(1.0f / std::sqrt(2.0f), 1.5f); // 0.5946036
        const float m = s / (s + kEps);                         // min-max of (s, 0)
        // CARM_1 = (0.8, 0.4), CARM_2 = (0.2, 1.0); features r0 = (1, 1), r1 = (0, −3); top-1 update.
        // Two labels: S_c = min-max(max(0, cos)^1.5) = (m, 0) for both → (0.8m, 0), (0.2m, 0);
        // both prototypes move 1% towards r0: (1, 0) → (1, 0.01), (0, 2) → (0.01, 1.99).
        QTest::newRow("code, two labels")
            << torch::tensor({{1.0f, 1.0f}}) << false << torch::tensor({0.8f * m, 0.0f, 0.2f * m, 0.0f})
            << torch::tensor({1.0f, 0.01f, 0.01f, 1.99f});
        // One label: no calibration; class 1's top position is still r0; class 2 is untouched.
        QTest::newRow("code, one label")
            << torch::tensor({{1.0f, 0.0f}}) << false << torch::tensor({0.8f, 0.4f, 0.2f, 1.0f})
            << torch::tensor({1.0f, 0.01f, 0.0f, 2.0f});
        // Paper Eq. 9–10, always: S = (1/√2, 0); CARM_1 ⊙ S² = (0.4, 0) → min-max (0.4/(0.4 + 1e-5), 0).
        QTest::newRow("paper, one label")
            << torch::tensor({{1.0f, 0.0f}}) << true << torch::tensor({0.4f / (0.4f + kEps), 0.0f, 0.2f, 1.0f})
            << torch::tensor({1.0f, 0.01f, 0.0f, 2.0f});
    }
    void calibrationAndMomentumUpdate()
    {
        QFETCH(torch::Tensor, labels);
        QFETCH(bool, paper);
        QFETCH(torch::Tensor, expected);
        QFETCH(torch::Tensor, bank);
        ClassPrototypes prototypes(torch::tensor({1.0f, 0.0f, 0.0f, 2.0f}).view({2, 2}));
        const auto carm = torch::tensor({0.3f, 0.3f, 0.8f, 0.4f, 0.2f, 1.0f}).view({1, 3, 1, 2});
        const auto features = torch::tensor({1.0f, 0.0f, 1.0f, -3.0f}).view({1, 2, 1, 2});
        PrototypeConfig config;
        config.updatePositions = 1;
        config.paperCalibration = paper;
        const auto out = prototypes.calibrate(carm, features, labels, config);
        WSSS_VERIFY_CLOSE(out[0][0].flatten(), torch::tensor({0.3f, 0.3f}), 0.0); // background untouched
        WSSS_VERIFY_CLOSE(out[0].slice(0, 1).flatten(), expected, 1e-6);
        WSSS_VERIFY_CLOSE(prototypes.bank().flatten(), bank, 1e-6);
    }

    void laterImagesSeeEarlierUpdates()
    {
        // The same image twice, class 1 only, top-8 of 2 positions = both: p̄ = (0.5, −1).
        // Image 0: (1, 0) → (0.995, −0.01); image 1: → 0.99·(0.995, −0.01) + 0.01·(0.5, −1)
        // = (0.99005, −0.0199).
        ClassPrototypes prototypes(torch::tensor({1.0f, 0.0f, 0.0f, 2.0f}).view({2, 2}));
        const auto carm = torch::tensor({0.3f, 0.3f, 0.8f, 0.4f, 0.0f, 0.0f}).view({1, 3, 1, 2}).repeat({2, 1, 1, 1});
        const auto features = torch::tensor({1.0f, 0.0f, 1.0f, -3.0f}).view({1, 2, 1, 2}).repeat({2, 1, 1, 1});
        prototypes.calibrate(carm, features, torch::tensor({{1.0f, 0.0f}, {1.0f, 0.0f}}));
        WSSS_VERIFY_CLOSE(prototypes.bank(), torch::tensor({0.99005f, -0.0199f, 0.0f, 2.0f}).view({2, 2}), 1e-6);
    }

    void allZeroClassMapStaysFinite()
    {
        // A labelled class with an all-zero CARM and features opposite to its prototype.
        ClassPrototypes prototypes(torch::tensor({1.0f, 0.0f, 0.0f, 1.0f}).view({2, 2}));
        const auto carm = torch::zeros({1, 3, 2, 2});
        const auto features = torch::tensor({-1.0f, -1.0f, -1.0f, -1.0f, 1.0f, 1.0f, 1.0f, 1.0f}).view({1, 2, 2, 2});
        const auto out = prototypes.calibrate(carm, features, torch::tensor({{1.0f, 1.0f}}));
        QVERIFY(torch::isfinite(out).all().item<bool>());
        QCOMPARE(out.abs().max().item<float>(), 0.0f);
        QVERIFY(torch::isfinite(prototypes.bank()).all().item<bool>());
    }

    void badInputNamesTheValue()
    {
        CarmConfig bad;
        bad.seedFraction = 1.5;
        WSSS_VERIFY_THROWS_WITH(bad.validate(), "seed_fraction 1.5");
        WSSS_VERIFY_THROWS_WITH(carmSeedCount(-1, 0.3), "-1");
        WSSS_VERIFY_THROWS_WITH(carmSeeds(torch::zeros({1, 2, 4}), torch::zeros({1, 4}, torch::kLong), 2.0),
                                "seed fraction 2");
        WSSS_VERIFY_THROWS_WITH(keyAffinity(torch::zeros({4, 8})), "keys [4, 8]");
        WSSS_VERIFY_THROWS_WITH(clsForegroundCue(torch::zeros({1, 3}), torch::zeros({1, 4, 8})), "CLS query [1, 3]");
        WSSS_VERIFY_THROWS_WITH(carmAtScale(torch::zeros({1, 2, 8, 8}), torch::ones({1, 2}), {}, torch::zeros({1, 5, 4}),
                                            torch::zeros({1, 4}), 2, 2),
                                "keys [1, 5, 4] do not cover the 2×2 grid");
        WSSS_VERIFY_THROWS_WITH(carmSeedInputs(torch::zeros({1, 2, 8, 8}), torch::ones({1, 3}), {}, 2, 2),
                                "labels [1, 3]");
        WSSS_VERIFY_THROWS_WITH(carmSeedInputs(torch::zeros({1, 2, 8, 8}), torch::ones({1, 2}),
                                               torch::ones({1, 4, 4}, torch::kBool), 2, 2),
                                "box [1, 4, 4]");
        WSSS_VERIFY_THROWS_WITH(classAwareAffinity(handGraph(), handSeeds(), handCue(), torch::ones({1, 2})),
                                "present classes [1, 2]");
        ClassPrototypes prototypes(20, 512);
        QCOMPARE(prototypes.bank().sizes(), (torch::IntArrayRef{20, 512}));
        WSSS_VERIFY_THROWS_WITH(prototypes.calibrate(torch::zeros({1, 21, 4, 4}), torch::zeros({1, 256, 2, 2}),
                                                     torch::ones({1, 20})),
                                "512-dimensional bank");
        WSSS_VERIFY_THROWS_WITH(prototypes.calibrate(torch::zeros({1, 20, 4, 4}), torch::zeros({1, 512, 2, 2}),
                                                     torch::ones({1, 20})),
                                "CARM [1, 20, 4, 4]");
        PrototypeConfig momentum;
        momentum.momentum = 1.5;
        WSSS_VERIFY_THROWS_WITH(momentum.validate(), "momentum 1.5");
        WSSS_VERIFY_THROWS_WITH(fuseCarmScales({}, 4, 4), "no scales");
    }

    void sameOnCuda_CUDA()
    {
        if (!torch::cuda::is_available())
            QSKIP("CUDA is not available");
        const auto cams = torch::rand({2, 4, 32, 32});
        const auto labels = torch::tensor({{1.0f, 0.0f, 1.0f, 0.0f}, {0.0f, 1.0f, 1.0f, 1.0f}});
        const auto keys = torch::randn({2, 64, 16});
        const auto query = torch::randn({2, 16});
        const auto cpu = carmAtScale(cams, labels, {}, keys, query, 8, 8);
        const auto gpu = carmAtScale(cams.cuda(), labels.cuda(), {}, keys.cuda(), query.cuda(), 8, 8);
        QVERIFY(gpu.is_cuda());
        WSSS_VERIFY_CLOSE(gpu.cpu(), cpu, 1e-5);
        ClassPrototypes a(torch::randn({4, 16})), b(a.bank().cuda());
        const auto features = torch::randn({2, 16, 4, 4});
        const auto fused = fuseCarmScales({cpu}, 8, 8);
        WSSS_VERIFY_CLOSE(b.calibrate(fused.cuda(), features.cuda(), labels.cuda()).cpu(),
                          a.calibrate(fused, features, labels), 1e-5);
        WSSS_VERIFY_CLOSE(b.bank().cpu(), a.bank(), 1e-5);
    }
};

QTEST_GUILESS_MAIN(TestEcaCarm)
#include "test_eca_carm.moc"
