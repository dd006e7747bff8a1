// `afa`: its losses and schedule against the published fixtures of methods/afa.md §9–11, the
// affinity head's symmetry, and a tiny real training run through checkpoint and inference.
#include "support/tensor_compare.h"
#include "training/checkpoint/checkpoint.h"
#include "training/data/demo_generator.h"
#include "training/data/fashion_mnist.h"
#include "training/loop/run_folder.h"
#include "training/loop/schedule.h"
#include "training/loop/trainer.h"
#include "training/methods/afa/afa_losses.h"
#include "training/methods/afa/afa_method.h"
#include "training/data/dataset.h"
#include "training/methods/cam/cam_method.h"
#include "training/methods/inference.h"
#include "training/methods/method_registry.h"
#include "vision/backbones/backbone_registry.h"
#include "vision/io/voc_reader.h"
#include "vision/refine/affinity_labels.h"
#include "vision/refine/par.h"
#include "vision/refine/permutohedral.h"
#include "vision/refine/random_walk.h"

#include <QTemporaryDir>
#include <QtTest>

#include <torch/torch.h>

#include <filesystem>

using namespace wsss;
using namespace wsss::training;
namespace fs = std::filesystem;

namespace {

// Saturated: the sigmoid within 0.01 of 0 or 1 (|logit| > 4.595), where A(1 − A) < 0.0099 and
// the affinity loss's gradient through the sigmoid has all but vanished.
double saturatedFraction(const torch::Tensor &affinity)
{
    return ((affinity < 0.01) | (affinity > 0.99)).to(torch::kFloat).mean().item<double>();
}

} // namespace

class TestAfa : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;

private Q_SLOTS:
    void affinityLossPublishedFixture()
    {
        // afa.md §9.2–9.3: labels on a 4×4 token grid (16×16 pixels a token), radius 1, and
        // A = linspace(0.05, 0.95, 256) → 0.48388031 with 44 + 1 positive and 38 + 1 negative pairs.
        auto tokens = torch::tensor({0, 0, 1, 255, 0, 2, 1, 1, 255, 0, 0, 1, 2, 2, 0, 0}, torch::kFloat).view({1, 4, 4});
        auto labels = tokens.repeat_interleave(16, 1).repeat_interleave(16, 2);
        auto y = vision::affinityLabels(labels, 4, 4, 1);
        auto a = torch::linspace(0.05, 0.95, 256).view({1, 16, 16});
        QVERIFY(std::abs(affinityLoss(a, y).item<double>() - 0.48388031) < 1e-7);
    }

    void affinityLossByHand()
    {
        // One positive pair at 0.8, one negative at 0.3, one ignored:
        // 0.5·(1 − 0.8)/(1 + 1) + 0.5·0.3/(1 + 1) = 0.05 + 0.075 = 0.125.
        auto a = torch::tensor({0.8f, 0.3f, 0.9f}).view({1, 1, 3});
        auto y = torch::tensor({1, 0, 255}, torch::kUInt8).view({1, 1, 3});
        QVERIFY(std::abs(affinityLoss(a, y).item<double>() - 0.125) < 1e-7);
    }

    void balancedSegLossPublishedFixture()
    {
        // afa.md §10: 3 classes × 4 pixels, labels [0, 2, 0, 255] → 0.28872603.
        auto logits = torch::tensor({2.0f, 0.0f, 1.0f, 0.5f, 0.0f, 1.0f, 0.0f, 0.0f, 1.0f, 3.0f, -1.0f, 2.0f}).view({1, 3, 1, 4});
        auto labels = torch::tensor({0, 2, 0, 255}, torch::kLong).view({1, 1, 4});
        QVERIFY(std::abs(balancedSegLoss(logits, labels).item<double>() - 0.28872603) < 1e-6);
    }

    void balancedSegLossWithoutForegroundIsFinite()
    {
        // No class pixel: the official 0/0 is NaN; here the empty term counts 0, so the loss is
        // half the background CE. Pixel 0: CE = log(e² + 1 + e) − 2 = 0.40760596.
        auto logits = torch::tensor({2.0f, 0.0f, 1.0f}).view({1, 3, 1, 1});
        auto labels = torch::tensor({0}, torch::kLong).view({1, 1, 1});
        const double loss = balancedSegLoss(logits, labels).item<double>();
        QVERIFY(std::isfinite(loss));
        QVERIFY(std::abs(loss - 0.5 * 0.40760596) < 1e-6);
        auto ignored = torch::tensor({255}, torch::kLong).view({1, 1, 1});
        QCOMPARE(balancedSegLoss(logits, ignored).item<double>(), 0.0);
    }

    void denseEnergyOnAFlatImageByHand()
    {
        // One colour and σ_xy far above the image size: every pixel sits on the same lattice
        // point, so W·S_k = c·Σ_j S_jk with c the filter of one point onto itself, and the loss is
        // −(c/B)·Σ_k (Σ_i g_i S_ik)(Σ_j S_jk) with g = 1 − max_c S at labelled pixels, 1 at 255.
        torch::manual_seed(2);
        const auto probs = torch::randn({1, 3, 4, 4}).softmax(1).requires_grad_(true);
        const auto rgb = torch::full({1, 3, 4, 4}, 100.0f);
        auto labels = torch::zeros({1, 4, 4}, torch::kLong);
        labels[0][1][2] = 255;
        labels[0][3][0] = 255;
        const DenseEnergyConfig config{15, 1e7, 1.0};
        const auto loss = denseEnergyLoss(probs, rgb, labels, config);

        const float colour = 100.0f / 15.0f; // the lattice's weights depend on where the point sits
        const float one[5] = {0, 0, colour, colour, colour};
        const float value = 1.0f;
        float c = 0;
        vision::PermutohedralLattice(one, 1, 5).filter(&value, &c, 1);
        const auto p = probs.detach()[0].reshape({3, 16});
        auto gate = (1 - std::get<0>(p.max(0))).clamp_min(0);
        gate.index_put_({(labels[0].reshape({16}) == 255)}, 1.0f);
        const auto expected = -c * ((p * gate).sum(1) * p.sum(1)).sum();
        QVERIFY(std::abs(loss.item<float>() - expected.item<float>()) <= 1e-5f * std::abs(expected.item<float>()));
        QVERIFY(loss.item<float>() < 0);

        // The official backward: −2·g·W S / B, the gate held constant.
        loss.backward();
        const auto expectedGrad = (-2.0f * c * gate.unsqueeze(0) * p.sum(1, true)).reshape({1, 3, 4, 4});
        WSSS_VERIFY_CLOSE(probs.grad(), expectedGrad, 1e-5);
    }

    void denseEnergyIgnoresConfidentLabelledPixels()
    {
        // One-hot predictions at labelled pixels have a zero gate: nothing to regularise.
        auto probs = torch::zeros({1, 2, 6, 6});
        probs.index_put_({0, 0, torch::indexing::Slice(), torch::indexing::Slice(0, 3)}, 1.0f);
        probs.index_put_({0, 1, torch::indexing::Slice(), torch::indexing::Slice(3, 6)}, 1.0f);
        const auto rgb = torch::rand({1, 3, 6, 6}) * 255;
        const auto labels = torch::zeros({1, 6, 6}, torch::kLong);
        QCOMPARE(denseEnergyLoss(probs, rgb, labels, DenseEnergyConfig{15, 100, 1.0}).item<float>(), 0.0f);
    }

    void regularisationIsAnOption()
    {
        // Off by default (the official code removed it); reg_weight > 0 adds a finite "reg" term
        // once the seg head trains.
        Batch batch;
        torch::manual_seed(5);
        batch.images = torch::randn({2, 3, 32, 32});
        batch.labels = torch::tensor({1.0f, 0.0f, 1.0f, 0.0f, 1.0f, 0.0f}).view({2, 3});
        batch.step = 9;
        batch.totalSteps = 10;
        auto plain = createMethod({"afa", "vit_test_patch8", 3, nlohmann::json::object()});
        plain->train();
        QVERIFY(!plain->trainStep(batch).losses.count("reg"));
        auto reg = createMethod({"afa", "vit_test_patch8", 3, nlohmann::json{{"reg_weight", 0.01}}});
        reg->train();
        const auto r = reg->trainStep(batch);
        QVERIFY(r.losses.count("reg"));
        QVERIFY(std::isfinite(r.losses.at("reg").item<double>()));
        QCOMPARE(reg->config().at("reg_weight").get<double>(), 0.01);
        WSSS_VERIFY_THROWS_WITH(createMethod({"afa", "vit_test_patch8", 3, nlohmann::json{{"reg_scale", 0}}}),
                                "reg_scale");
    }

    void multilabelSoftMarginPublishedFixture()
    {
        // afa.md §10: z = (2, −1, 0.5), y = (1, 0, 1) → 0.30475557.
        auto z = torch::tensor({2.0f, -1.0f, 0.5f}).view({1, 3});
        auto y = torch::tensor({1.0f, 0.0f, 1.0f}).view({1, 3});
        QVERIFY(std::abs(multilabelSoftMarginLoss(z, y).item<double>() - 0.30475557) < 1e-6);
    }

    void learningRateSchedulePublishedFixture()
    {
        // afa.md §11.2: base 6e-5, 1500 warm-up steps from 1e-6×, 20000 steps, power 1.
        const std::vector<std::pair<int, double>> table{{0, 6.0e-11},     {1, 4.006e-8},   {199, 7.96005e-6},
                                                        {749, 2.996003e-5}, {1499, 5.996e-5}, {1500, 5.55e-5},
                                                        {1599, 5.5203e-5}, {6000, 4.2e-5},  {10000, 3.0e-5},
                                                        {19999, 3.0e-9}};
        for (const auto &[t, lr] : table) {
            const double got = 6e-5 * polyWarmupFactor(t, 20000, 1500, 1e-6, 1.0);
            QVERIFY2(std::abs(got - lr) <= 1e-4 * lr, qPrintable(QString("t %1: %2 vs %3").arg(t).arg(got).arg(lr)));
        }
    }

    void affinityHeadIsSymmetric()
    {
        torch::manual_seed(3);
        AffinityHead head(4);
        auto a = head(torch::randn({2, 4, 9, 9}));
        QCOMPARE(a.sizes().vec(), (std::vector<std::int64_t>{2, 9, 9}));
        QCOMPARE((a - a.transpose(1, 2)).abs().max().item<float>(), 0.0f);
        QVERIFY((a > 0).all().item<bool>() && (a < 1).all().item<bool>());
    }

    void affinityHeadLearnsOnTheDemoBackbone()
    {
        // The bundled demo backbone as a run loads it by default, on demo images at 128 px (a
        // 16×16 grid): the official head on the raw Q·Kᵀ saturates the sigmoid almost everywhere
        // at init, the default (standardized S + Sᵀ) leaves fewer than 20 % of the pairs saturated.
        if (!fs::exists(defaultFashionMnistDir()))
            QFAIL("Fashion-MNIST (Debian package dataset-fashion-mnist) is not installed: packaging/install-deps.sh installs it");
        const std::string weights = vision::weightsFileFor("vit_demo_patch8", "");
        QVERIFY2(!weights.empty(), "the bundled vit_demo_patch8 weights are missing");
        DemoDataOptions d;
        d.out = m_dir.filePath("demo128").toStdString();
        d.train = 4;
        d.val = 1;
        d.size = 128;
        generateDemoData(d);
        const auto dataset = vision::loadVocDataset(d.out, "train");
        TrainingSet set(dataset, 128, false);
        std::mt19937_64 rng(0);

        auto affinityAtInit = [&](const nlohmann::json &config, int seed) {
            torch::manual_seed(seed);
            auto method = createMethod({"afa", "vit_demo_patch8", dataset.labelMap.foregroundCount(), config});
            method->loadBackboneWeights(weights);
            method->train(); // as trainStep runs it
            const auto batch = set.next(rng, 4, method->backboneInfo().norm, false);
            torch::NoGradGuard noGrad;
            return dynamic_cast<AfaMethod &>(*method).forward(batch.images).affinity;
        };
        QCOMPARE(affinityAtInit(nlohmann::json::object(), 0).sizes().vec(), (std::vector<std::int64_t>{4, 256, 256}));
        for (int seed = 0; seed < 3; ++seed) {
            const double standardized = saturatedFraction(affinityAtInit(nlohmann::json::object(), seed));
            const double raw = saturatedFraction(affinityAtInit({{"affinity_input", "raw"}}, seed));
            const double scaled = saturatedFraction(affinityAtInit({{"affinity_input", "scaled"}}, seed));
            qInfo("seed %d: saturated pairs at init: standardized %.4f, scaled %.4f, raw (official) %.4f", seed,
                  standardized, scaled, raw);
            QVERIFY2(standardized < 0.2, qPrintable(QString("standardized: %1 saturated").arg(standardized)));
            QVERIFY2(raw > 0.5, qPrintable(QString("raw: %1 saturated").arg(raw)));
        }
        auto method = createMethod({"afa", "vit_demo_patch8", 3, nlohmann::json::object()});
        QCOMPARE(method->config().at("affinity_input").get<std::string>(), std::string("standardized"));
        QCOMPARE(createMethod({"afa", "mit_b0", 3, nlohmann::json::object()})->config().at("affinity_input").get<std::string>(),
                 std::string("raw"));
        WSSS_VERIFY_THROWS_WITH(createMethod({"afa", "vit_test_patch8", 3, nlohmann::json{{"affinity_input", "norm"}}}),
                                "affinity_input");
    }

    void gridRelativeGeometry()
    {
        // The official radius 8 at the official 32×32 grid (512-px crop, stride 16), the same
        // quarter of the grid elsewhere; an explicit radius stays absolute.
        AfaConfig c;
        QCOMPARE(c.radiusFor(32, 32), 8);
        QCOMPARE(c.radiusFor(16, 16), 4);
        QCOMPARE(c.radiusFor(8, 8), 2);
        QCOMPARE(c.radiusFor(16, 24), 4); // the shorter side
        QCOMPARE(c.radiusFor(2, 2), 1);   // at least 1
        c.radius = 8;
        QCOMPARE(c.radiusFor(16, 16), 8);
        // PAR's dilations: the official ones on the official 256-px half crop, scaled elsewhere.
        AfaConfig p;
        QCOMPARE(p.parDilationsFor(256), (std::vector<int>{1, 2, 4, 8, 12, 24}));
        QCOMPARE(p.parDilationsFor(64), (std::vector<int>{1, 2, 3, 6}));
        QCOMPARE(p.parDilationsFor(128), (std::vector<int>{1, 2, 4, 6, 12}));
        p.parReferenceSize = 0;
        QCOMPARE(p.parDilationsFor(64), (std::vector<int>{1, 2, 4, 8, 12, 24}));
        QCOMPARE(vision::scaledDilations({1, 2, 4}, 1.0), (std::vector<int>{1, 2, 4}));
        WSSS_VERIFY_THROWS_WITH(createMethod({"afa", "vit_test_patch8", 3, nlohmann::json{{"par_dilations", {1, 0}}}}),
                                "dilation 0");

        // The method's affinity labels follow the grid: every pair beyond the radius is ignored,
        // and pairs at exactly the radius are labelled, at two grid sizes.
        for (const auto &[side, radius] : {std::pair{64, 2}, std::pair{128, 4}}) {
            torch::manual_seed(6);
            auto method = createMethod({"afa", "vit_test_patch8", 3, nlohmann::json::object()});
            auto &afa = dynamic_cast<AfaMethod &>(*method);
            method->train();
            Batch batch;
            batch.images = torch::randn({1, 3, side, side});
            batch.labels = torch::tensor({1.0f, 0.0f, 1.0f}).view({1, 3});
            batch.step = 1;
            batch.totalSteps = 10;
            const auto t = afa.targets(batch, afa.forward(batch.images));
            const std::int64_t g = side / 8, n = g * g;
            QCOMPARE(t.affinity.sizes().vec(), (std::vector<std::int64_t>{1, n, n}));
            const auto idx = torch::arange(n);
            const auto ys = idx.div(g, "floor"), xs = idx.remainder(g);
            const auto dist = torch::max((ys.unsqueeze(1) - ys.unsqueeze(0)).abs(), (xs.unsqueeze(1) - xs.unsqueeze(0)).abs());
            const auto y = t.affinity[0];
            QVERIFY((y.masked_select(dist > radius) == 255).all().item<bool>());
            QVERIFY((y.masked_select(dist == radius) != 255).any().item<bool>());
        }
    }

    void affPseudoMaskIsTheArgmaxOverThePropagatedBackground()
    {
        // By hand, a 1×3 grid, classes 1 and 2 present, background seeded at β_l = 0.35:
        //   cams c1 = (0.8, 0.3, 0), c2 = (0, 0.5, 0.2); seeds = softmax over (0.35, c1, c2) per token:
        //   t0 (0.305530, 0.479167, 0.215303), t1 (0.321227, 0.305561, 0.373212),
        //   t2 (0.389803, 0.274690, 0.335508).
        //   A = [[.5 .5 0] [.5 .5 .2] [0 .2 .5]] → A² column sums + 0.1 = (0.6, 0.64, 0.39), so
        //   T = [[.416667 .390625 0] [.416667 .390625 .102564] [0 .0625 .641026]].
        //   seeds·T: background (0.261149, 0.269190, 0.282820), c1 (0.326970, 0.323702, 0.207423),
        //   c2 (0.245215, 0.250858, 0.253347).
        // The official rule (argmax with the background) gives (1, 1, 0); the 0.45 threshold on the
        // class maps alone would call every token background.
        const auto cams = torch::tensor({0.8f, 0.3f, 0.0f, 0.0f, 0.5f, 0.2f}).view({1, 2, 1, 3});
        const auto affinity = torch::tensor({0.5f, 0.5f, 0.0f, 0.5f, 0.5f, 0.2f, 0.0f, 0.2f, 0.5f}).view({1, 3, 3});
        const auto present = torch::tensor({1.0f, 1.0f}).view({1, 2});
        const auto walked = vision::propagateWithBackground(cams, affinity, present, 0.35)[0]; // [3, 1, 3]
        const auto expected = torch::tensor({0.261149f, 0.269190f, 0.282820f, 0.326970f, 0.323702f, 0.207423f,
                                             0.245215f, 0.250858f, 0.253347f})
                                  .view({3, 1, 3});
        WSSS_VERIFY_CLOSE(walked, expected, 2e-6);

        // The method's output as AfaMethod::infer makes it, through the pseudo-mask path every
        // consumer takes (validation, infer, the engine).
        LoadedModel model;
        model.header.method = "afa";
        model.header.labelMap.classes = {{"background"}, {"a"}, {"b"}};
        model.method = createMethod({"afa", "vit_test_patch8", 2, nlohmann::json::object()});
        QVERIFY(model.method->predictsBackground());
        MethodOutput out;
        out.scores = torch::tensor({0.9f, 0.9f});
        out.maps["aff"] = walked.slice(0, 1);
        out.backgrounds["aff"] = walked[0];
        const cv::Mat rgb(1, 3, CV_8UC3, cv::Scalar(90, 120, 150));
        auto labelsOf = [](const cv::Mat &m) { return std::vector<int>{m.at<std::uint8_t>(0, 0), m.at<std::uint8_t>(0, 1), m.at<std::uint8_t>(0, 2)}; };
        QCOMPARE(labelsOf(pseudoMask(model, out, {1, 2}, 0.45f)), (std::vector<int>{1, 1, 0}));
        QCOMPARE(labelsOf(pseudoMask(model, out, {1, 2}, vision::PseudoLabelRule{}, rgb)), (std::vector<int>{1, 1, 0}));
        // aff_background "rule": no background comes with the maps, the threshold decides.
        out.backgrounds.clear();
        QCOMPARE(labelsOf(pseudoMask(model, out, {1, 2}, 0.45f)), (std::vector<int>{0, 0, 0}));
        QCOMPARE(labelsOf(pseudoMask(model, out, {1, 2}, 0.25f)), (std::vector<int>{1, 1, 2}));

        // infer gives the propagated background with the aff maps by default, not under "rule".
        torch::NoGradGuard noGrad;
        model.method->eval();
        const auto image = torch::randn({1, 3, 32, 32});
        const auto official = model.method->infer(image, false, torch::tensor({1.0f, 0.0f}));
        QVERIFY(official.backgrounds.count("aff") && official.backgrounds.count("seg"));
        QCOMPARE(official.backgrounds.at("aff").sizes().vec(), (std::vector<std::int64_t>{32, 32}));
        auto rule = createMethod({"afa", "vit_test_patch8", 2, nlohmann::json{{"aff_background", "rule"}}});
        rule->eval();
        QVERIFY(!rule->predictsBackground());
        QVERIFY(!rule->infer(image, false, torch::tensor({1.0f, 0.0f})).backgrounds.count("aff"));
        WSSS_VERIFY_THROWS_WITH(createMethod({"afa", "vit_test_patch8", 2, nlohmann::json{{"aff_background", "x"}}}),
                                "aff_background");
    }

    void camNormalizationKeepsANegativeClass()
    {
        // A labelled class that scores negative everywhere: the final norm's bias 1 puts every
        // token's channel sum at D, and class 0's weights near −1 make its CAM about −D at every
        // patch, every scale, with a little variation. The official relu_max empties its map;
        // min_max keeps where it is least negative.
        torch::NoGradGuard noGrad;
        torch::manual_seed(3);
        auto official = createMethod({"afa", "vit_test_patch8", 2, nlohmann::json::object()});
        auto ours = createMethod({"afa", "vit_test_patch8", 2, nlohmann::json{{"cam_normalization", "min_max"}}});
        // The defaults: the official normalisation, GAP pooling (see AfaConfig).
        QCOMPARE(official->config().at("cam_normalization").get<std::string>(), std::string("relu_max"));
        QCOMPARE(official->config().at("pooling").get<std::string>(), std::string("gap"));
        auto params = official->named_parameters();
        params["backbone.norm.bias"].fill_(1.0);
        auto &w = params["classifier.weight"];
        w[0].copy_(-1 + 0.01 * torch::randn_like(w[0]));
        wsss::test::copyParameters(*official, *ours);
        official->eval();
        ours->eval();
        const auto image = torch::randn({1, 3, 32, 32});
        const auto negative = dynamic_cast<AfaMethod &>(*official).forward(image).cams[0][0];
        QVERIFY((negative < 0).all().item<bool>());
        const auto emptied = dynamic_cast<AfaMethod &>(*official).multiScaleCams(image, nullptr, nullptr, nullptr)[0][0];
        const auto kept = dynamic_cast<AfaMethod &>(*ours).multiScaleCams(image, nullptr, nullptr, nullptr)[0][0];
        QCOMPARE(emptied.max().item<double>(), 0.0);
        QVERIFY(std::abs(kept.max().item<double>() - 1.0) < 1e-3);
        QVERIFY(kept.min().item<double>() < 1e-3);
        WSSS_VERIFY_THROWS_WITH(createMethod({"afa", "vit_test_patch8", 2, nlohmann::json{{"cam_normalization", "max"}}}),
                                "cam_normalization");
    }

    // `wsss infer --map aff`, the export and the evaluation read one map: the same values as the
    // studio's whole inference, without the work only the other maps need.
    void aMapAskedForIsInfersWithoutTheOthersWork()
    {
        torch::NoGradGuard noGrad;
        torch::manual_seed(6);
        auto method = createMethod({"afa", "vit_test_patch8", 2, nlohmann::json::object()});
        method->eval();
        const auto x = torch::randn({1, 3, 32, 32});
        const auto labels = torch::tensor({1.0f, 0.0f});
        const auto all = method->infer(x, false, labels);
        for (const std::string kind : {"cam", "aff", "seg"}) {
            const auto only = method->inferMaps(x, labels, {kind});
            WSSS_VERIFY_CLOSE(only.maps.at(kind), all.maps.at(kind), 0.0);
            QCOMPARE(only.backgrounds.count(kind), all.backgrounds.count(kind));
            if (all.backgrounds.count(kind))
                WSSS_VERIFY_CLOSE(only.backgrounds.at(kind), all.backgrounds.at(kind), 0.0);
            WSSS_VERIFY_CLOSE(only.scores, all.scores, 0.0);
            QVERIFY(only.affinities.empty()); // the studio's
        }
        QVERIFY(!method->inferMaps(x, labels, {"aff"}).maps.count("seg")); // no multi-scale segmentation
        QVERIFY(!method->inferMaps(x, labels, {"seg"}).maps.count("cam")); // no multi-scale CAMs
    }

    void segMapIsTheMultiScaleFlipMaximum()
    {
        torch::NoGradGuard noGrad;
        torch::manual_seed(5);
        auto method = createMethod({"afa", "vit_test_patch8", 2, nlohmann::json{{"seg_scales", {1.0, 0.5}}}});
        auto &afa = dynamic_cast<AfaMethod &>(*method);
        method->eval();
        const auto x = torch::randn({1, 3, 32, 32});
        // By hand: each scale's [x; flip x] logits averaged with the flip undone, brought to the
        // scale-1 logit size, the element-wise maximum over the scales.
        auto pairMean = [&](const torch::Tensor &input) {
            const auto l = afa.segment(afa.forward(torch::cat({input, input.flip({3})})));
            return (l.slice(0, 0, 1) + l.slice(0, 1).flip({3})) / 2;
        };
        const auto one = pairMean(x);
        const auto half = vision::resizeMaps(pairMean(vision::resizeMaps(x, 16, 16)), one.size(2), one.size(3));
        const auto msc = afa.multiScaleSegment(x, afa.forward(x));
        WSSS_VERIFY_CLOSE(msc, torch::maximum(one, half), 1e-5);
        // With the flip averaged in, the map of the mirrored image is the mirrored map.
        WSSS_VERIFY_CLOSE(afa.multiScaleSegment(x.flip({3}), afa.forward(x.flip({3}))), msc.flip({3}), 1e-5);
        // The `seg` map of infer is its softmax at image size.
        const auto out = method->infer(x, false, torch::tensor({1.0f, 0.0f}));
        const auto probs = vision::resizeMaps(msc, 32, 32).softmax(1)[0];
        WSSS_VERIFY_CLOSE(out.maps.at("seg"), probs.slice(0, 1), 1e-5);
        WSSS_VERIFY_CLOSE(out.backgrounds.at("seg"), probs[0], 1e-5);
        // [1]: the single unflipped pass.
        auto single = createMethod({"afa", "vit_test_patch8", 2, nlohmann::json{{"seg_scales", {1.0}}}});
        auto &one_scale = dynamic_cast<AfaMethod &>(*single);
        single->eval();
        const auto mainPass = one_scale.forward(x);
        WSSS_VERIFY_CLOSE(one_scale.multiScaleSegment(x, mainPass), one_scale.segment(mainPass), 0.0);
        QCOMPARE(createMethod({"afa", "vit_test_patch8", 2, nlohmann::json::object()})->config().at("seg_scales"),
                 (nlohmann::json{1.0, 0.5, 0.75}));
        WSSS_VERIFY_THROWS_WITH(createMethod({"afa", "vit_test_patch8", 2, nlohmann::json{{"seg_scales", {0.0}}}}),
                                "seg_scales");
    }

    void paddingIsIgnoredByTheLabels()
    {
        // The right half of the crop is padding (Batch::valid false): every seg label there is 255,
        // and so is every affinity pair of a token whose cell starts in it.
        torch::manual_seed(7);
        auto method = createMethod({"afa", "vit_test_patch8", 3, nlohmann::json::object()});
        auto &afa = dynamic_cast<AfaMethod &>(*method);
        method->train();
        Batch batch;
        batch.images = torch::randn({2, 3, 32, 32});
        batch.labels = torch::tensor({1.0f, 0.0f, 1.0f, 0.0f, 1.0f, 0.0f}).view({2, 3});
        batch.valid = torch::ones({2, 32, 32}, torch::kBool);
        batch.valid.slice(2, 16).fill_(false);
        for (std::int64_t step : {2, 9}) { // CAM labels, then the propagated ones
            batch.step = step;
            batch.totalSteps = 10;
            const auto t = afa.targets(batch, afa.forward(batch.images));
            QVERIFY((t.seg.slice(2, 16) == 255).all().item<bool>());
            QVERIFY((t.seg.slice(2, 0, 16) != 255).any().item<bool>());
            QVERIFY(t.ignored >= 0.5);
            const auto y = t.affinity.view({2, 4, 4, 4, 4}); // [B, y_i, x_i, y_j, x_j] on the 4×4 grid
            QVERIFY((y.slice(2, 2) == 255).all().item<bool>());
            QVERIFY((y.slice(4, 2) == 255).all().item<bool>());
            QVERIFY((y.slice(2, 0, 2).slice(4, 0, 2) != 255).any().item<bool>());
        }
        const auto r = method->trainStep(batch);
        for (const char *term : {"cls", "seg", "aff"})
            QVERIFY2(r.losses.count(term) && std::isfinite(r.losses.at(term).item<double>()), term);
    }

    void recipeAndConfig()
    {
        auto method = createMethod({"afa", "vit_test_patch8", 3, nlohmann::json{{"bg_high", 0.6}}});
        const auto recipe = method->recipe();
        QCOMPARE(recipe.optimizer, std::string("adamw"));
        QCOMPARE(recipe.lr, 6e-4);
        QCOMPARE(recipe.backboneLrScale, 0.1);
        QCOMPARE(recipe.polyPower, 1.0);
        QCOMPARE(method->config().at("bg_high").get<double>(), 0.6);
        // Backbone LayerNorms are frozen: no group holds them.
        std::size_t held = 0;
        for (const auto &g : method->parameterGroups(recipe))
            held += g.params().size();
        std::size_t norms = 0;
        for (const auto &p : method->named_parameters())
            norms += p.key().rfind("backbone.", 0) == 0 && p.key().find("norm") != std::string::npos;
        QVERIFY(norms > 0);
        QCOMPARE(held, method->parameters().size() - norms);
        WSSS_VERIFY_THROWS_WITH(createMethod({"afa", "vit_test_patch8", 3, nlohmann::json{{"bg_low", 0.7}}}), "bg_low");
        WSSS_VERIFY_THROWS_WITH(createMethod({"afa", "vit_test_patch8", 3, nlohmann::json{{"radius", -1}}}), "radius");
    }

    void officialMitNetworkTrainsAndInfers()
    {
        // MiT with stage 4 at stride 1: a 64 px input gives a 4×4 grid at 1/16; every loss is
        // finite and reaches the backbone; inference gives every map and both affinities.
        torch::manual_seed(4);
        auto method = createMethod({"afa", "mit_b0", 3, nlohmann::json::object()});
        const auto info = method->backboneInfo();
        QCOMPARE(info.stride, 16);
        QCOMPARE(info.prefixTokens, 0);
        method->train();
        Batch batch;
        batch.images = torch::randn({2, 3, 64, 64});
        batch.labels = torch::tensor({1.0f, 0.0f, 1.0f, 0.0f, 1.0f, 0.0f}).view({2, 3});
        batch.step = 9;
        batch.totalSteps = 10; // past both gates: propagated seg labels
        auto r = method->trainStep(batch);
        for (const char *term : {"cls", "seg", "aff"})
            QVERIFY2(r.losses.count(term) && std::isfinite(r.losses.at(term).item<double>()), term);
        r.total().backward();
        bool backboneLearns = false;
        for (const auto &p : method->named_parameters())
            if (p.key().rfind("backbone.block4", 0) == 0 && p.value().grad().defined())
                backboneLearns = backboneLearns || p.value().grad().abs().sum().item<double>() > 0;
        QVERIFY(backboneLearns);

        torch::NoGradGuard noGrad;
        method->eval();
        auto out = method->infer(torch::randn({1, 3, 64, 64}), false, torch::tensor({0.0f, 1.0f, 0.0f}));
        QCOMPARE(out.gridHeight, std::int64_t{4});
        for (const char *kind : {"cam", "aff", "seg"})
            QCOMPARE(out.maps.at(kind).sizes().vec(), (std::vector<std::int64_t>{3, 64, 64}));
        QCOMPARE(out.affinities.at("afa").sizes().vec(), (std::vector<std::int64_t>{16, 16}));
        QVERIFY(out.affinities.count("transition"));
        WSSS_VERIFY_THROWS_WITH(createMethod({"afa", "mit_b0", 3, nlohmann::json{{"affinity_blocks", 3}}}),
                                "affinity_blocks");
    }

    void trainsSavesAndInfers()
    {
        if (!fs::exists(defaultFashionMnistDir()))
            QFAIL("Fashion-MNIST (Debian package dataset-fashion-mnist) is not installed: packaging/install-deps.sh installs it");
        DemoDataOptions d;
        d.out = m_dir.filePath("data").toStdString();
        d.train = 8;
        d.val = 2;
        d.size = 32;
        generateDemoData(d);

        TrainOptions o;
        o.method = "afa";
        o.data = d.out;
        o.out = m_dir.filePath("run").toStdString();
        o.backbone = "vit_test_patch8";
        o.weights = "none";
        o.device = "cpu";
        o.size = 32;
        o.batch = 4;
        o.iters = 10;
        o.logEvery = 1;
        std::vector<StepLog> logs;
        TrainCallbacks cb;
        cb.onStep = [&](const StepLog &log) { logs.push_back(log); };
        const auto result = train(o, cb);
        QCOMPARE(static_cast<int>(logs.size()), 10);
        // Classification only up to step 1 (10 % of 10), then all three losses, finite.
        QVERIFY(!logs[0].losses.count("seg"));
        for (const char *term : {"cls", "seg", "aff"})
            QVERIFY2(logs.back().losses.count(term) && std::isfinite(logs.back().losses.at(term)), term);
        // The share of ignored pixels is a figure, not a loss: plotted as one it looked like a fourth term.
        QVERIFY(!logs.back().losses.count("ignored"));
        QVERIFY(logs.back().logs.count("ignored"));
        const auto written = readMetrics(o.out + "/metrics.jsonl");
        const auto last = std::find_if(written.lines.rbegin(), written.lines.rend(),
                                       [](const MetricsLine &m) { return !m.losses.empty(); });
        QVERIFY(last != written.lines.rend());
        QCOMPARE(last->step, std::int64_t{10});
        QVERIFY(last->logs.count("ignored") && !last->losses.count("ignored"));
        QCOMPARE(last->logs.at("ignored"), logs.back().logs.at("ignored"));
        QVERIFY(result.metrics.count("val_miou"));

        auto model = loadCheckpoint(result.checkpointPath);
        QCOMPARE(model.header.method, std::string("afa"));
        torch::NoGradGuard noGrad;
        model.method->eval();
        const int K = model.header.labelMap.foregroundCount();
        auto labels = torch::zeros({K});
        labels[1] = 1;
        auto out = model.method->infer(torch::randn({1, 3, 32, 32}), true, labels);
        for (const char *kind : {"cam", "aff", "seg"}) {
            QVERIFY2(out.maps.count(kind), kind);
            QCOMPARE(out.maps.at(kind).sizes().vec(), (std::vector<std::int64_t>{K, 32, 32}));
            QVERIFY2(out.maps.at(kind).min().item<float>() >= 0 && out.maps.at(kind).max().item<float>() <= 1 + 1e-5, kind);
        }
        // Propagation only spreads the labelled class (and background).
        QCOMPARE(out.maps.at("aff")[0].abs().max().item<float>(), 0.0f);
        QVERIFY(out.maps.at("aff")[1].max().item<float>() > 0);
        QVERIFY(out.backgrounds.count("aff") && out.backgrounds.count("seg"));
        QCOMPARE(static_cast<int>(out.attention.size()), 2); // the studio's attention, every block
    }
};

QTEST_MAIN(TestAfa)
#include "test_afa.moc"
