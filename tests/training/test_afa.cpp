// `afa`: its losses and schedule against the published fixtures of methods/afa.md §9–11, the
// affinity head's symmetry, and a tiny real training run through checkpoint and inference.
#include "support/tensor_compare.h"
#include "training/checkpoint/checkpoint.h"
#include "training/data/demo_generator.h"
#include "training/data/fashion_mnist.h"
#include "training/loop/schedule.h"
#include "training/loop/trainer.h"
#include "training/methods/afa/afa_losses.h"
#include "training/methods/afa/afa_method.h"
#include "training/methods/cam/cam_method.h"
#include "training/methods/method_registry.h"
#include "vision/refine/affinity_labels.h"
#include "vision/refine/permutohedral.h"

#include <QTemporaryDir>
#include <QtTest>

#include <torch/torch.h>

#include <filesystem>

using namespace wsss;
using namespace wsss::training;
namespace fs = std::filesystem;

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
        WSSS_VERIFY_THROWS_WITH(createMethod({"afa", "vit_test_patch8", 3, nlohmann::json{{"radius", 0}}}), "radius");
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
            QSKIP("Fashion-MNIST (Debian package dataset-fashion-mnist) is not installed");
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
        QVERIFY(out.background.defined());
        QCOMPARE(static_cast<int>(out.attention.size()), 2); // the studio's attention, every block
    }
};

QTEST_MAIN(TestAfa)
#include "test_afa.moc"
