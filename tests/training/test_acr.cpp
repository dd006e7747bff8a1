// The `acr` method: its losses by hand, the token-order inversion on a real ViT, the batched
// gradient maps against a per-class autograd computation, the config and its presets, and a
// tiny training run through the trainer, the checkpoint and inference.
#include "support/tiny_demo_run.h"
#include "support/tensor_compare.h"
#include "training/checkpoint/checkpoint.h"
#include "training/data/demo_generator.h"
#include "training/loop/trainer.h"
#include "training/methods/acr/acr_losses.h"
#include "training/methods/acr/acr_method.h"
#include "training/methods/cam/cam_method.h"
#include "training/methods/config_overrides.h"
#include "training/methods/inference.h"
#include "training/methods/method_registry.h"
#include "vision/io/image_io.h"
#include "vision/io/voc_reader.h"
#include "vision/maps/affinity_refine.h"
#include "vision/maps/token_permutation.h"

#include <QTemporaryDir>
#include <torch/torch.h>

#include <cmath>
#include <filesystem>

using namespace wsss;
using namespace wsss::training;

namespace {

// The image with its p×p patches moved as `t` moves grid cells, each patch's pixels unchanged:
// only token positions change, so a ViT without position embedding sees the same tokens.
torch::Tensor permutePatches(const torch::Tensor &x, int p, vision::GridTransform t)
{
    const auto B = x.size(0), gh = x.size(2) / p, gw = x.size(3) / p;
    auto patches = x.reshape({B, 3, gh, p, gw, p}).permute({0, 1, 3, 5, 2, 4}); // [B, 3, p, p, gh, gw]
    auto moved = vision::applyGridTransform(patches, t);                         // [B, 3, p, p, gh', gw']
    const auto h2 = moved.size(4), w2 = moved.size(5);
    return moved.permute({0, 1, 4, 2, 5, 3}).reshape({B, 3, h2 * p, w2 * p});
}

// A small ViT with a linear patch embedding (no stem mixing neighbouring patches).
vision::VitConfig plainVit()
{
    vision::VitConfig c;
    c.name = "plain_test";
    c.patchSize = 4;
    c.embedDim = 16;
    c.depth = 2;
    c.heads = 2;
    c.imgSize = 16;
    return c;
}

std::shared_ptr<AcrMethod> makeAcr(const std::string &backbone, int classes, nlohmann::json config = nlohmann::json::object())
{
    return std::dynamic_pointer_cast<AcrMethod>(createMethod({"acr", backbone, classes, std::move(config)}));
}

} // namespace

class TestAcr : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;

private Q_SLOTS:
    void init() { torch::manual_seed(0); }

    void lossesByHand()
    {
        // One image, a 1×2 patch grid (T = 3), hflip: π = [1, 0].
        //   A  = [[0.2, 0.5, 0.3], [0.1, 0.6, 0.3], [0.3, 0.3, 0.4]]
        //   A′ = [[0.4, 0.2, 0.4], [0.2, 0.5, 0.3], [0.1, 0.1, 0.8]]
        // L_act: |A[0,1] − A′[0,2]| = |0.5 − 0.4| = 0.1, |A[0,2] − A′[0,1]| = |0.3 − 0.2| = 0.1 → 0.1
        // L_aff: |A[1,1] − A′[2,2]| = 0.2, |A[1,2] − A′[2,1]| = 0.2, |A[2,1] − A′[1,2]| = 0,
        //        |A[2,2] − A′[1,1]| = 0.1 → 0.5 / 4 = 0.125
        // The patch→CLS column (A[1,0] = 0.1 vs A′ 0.2) and A[0,0] are not compared.
        auto A = torch::tensor({{0.2, 0.5, 0.3}, {0.1, 0.6, 0.3}, {0.3, 0.3, 0.4}}).reshape({1, 1, 3, 3});
        auto Av = torch::tensor({{0.4, 0.2, 0.4}, {0.2, 0.5, 0.3}, {0.1, 0.1, 0.8}}).reshape({1, 1, 3, 3});
        const auto pi = vision::tokenPermutation(vision::GridTransform::HFlip, 1, 2);
        QVERIFY(std::abs(activationConsistencyLoss(A, Av, pi).item<double>() - 0.1) < 1e-6);
        QVERIFY(std::abs(affinityConsistencyLoss(A, Av, pi).item<double>() - 0.125) < 1e-6);
        // A second layer that agrees exactly halves both means (normaliser B·L·n and B·L·n²):
        // 0.05 and 0.0625.
        auto A2 = torch::cat({A, A}, 1), Av2 = torch::cat({Av, reorderViewAttention(A, pi)}, 1);
        QVERIFY(std::abs(activationConsistencyLoss(A2, Av2, pi).item<double>() - 0.05) < 1e-6);
        QVERIFY(std::abs(affinityConsistencyLoss(A2, Av2, pi).item<double>() - 0.0625) < 1e-6);
        // Multilabel soft margin, logits [0, 2], labels [1, 0]:
        //   (−log σ(0) − log(1 − σ(2))) / 2 = (0.693147 + 2.126928) / 2 = 1.410038
        const auto mlsm = multilabelSoftMarginLoss(torch::tensor({{0.0, 2.0}}), torch::tensor({{1.0, 0.0}}));
        QVERIFY(std::abs(mlsm.item<double>() - 1.410038) < 1e-5);
    }

    void lossesMatchOnTheOriginalOrder()
    {
        // reorderViewAttention and the losses agree on random tensors and a non-square grid:
        // L_aff equals the plain mean |A − P A′ Pᵀ| over the patch block.
        auto A = torch::rand({2, 3, 1 + 6, 1 + 6}), Av = torch::rand({2, 3, 7, 7});
        const auto pi = vision::tokenPermutation(vision::GridTransform::Rot90, 2, 3);
        const auto back = reorderViewAttention(Av, pi);
        const auto expectedAff = (A.slice(2, 1).slice(3, 1) - back.slice(2, 1).slice(3, 1)).abs().mean();
        const auto expectedAct = (A.select(2, 0).slice(-1, 1) - back.select(2, 0).slice(-1, 1)).abs().mean();
        WSSS_VERIFY_CLOSE(affinityConsistencyLoss(A, Av, pi), expectedAff, 1e-6);
        WSSS_VERIFY_CLOSE(activationConsistencyLoss(A, Av, pi), expectedAct, 1e-6);
        WSSS_VERIFY_THROWS_WITH(affinityConsistencyLoss(A, Av, torch::arange(5)), "does not fit");
    }

    void tokenOrderInversion_data()
    {
        QTest::addColumn<QString>("transform");
        for (const char *t : {"hflip", "vflip", "rot90", "rot180", "rot270"})
            QTest::newRow(t) << t;
    }

    void tokenOrderInversion()
    {
        // Without position embedding a ViT is equivariant to moving whole patches: the moved
        // image's attention, put back in the original order with π, is the original attention,
        // and both consistency losses vanish. With the position embedding they do not.
        QFETCH(QString, transform);
        const auto t = vision::gridTransformFromName(transform.toStdString());
        vision::VisionTransformer vit(plainVit());
        vit->eval();
        torch::NoGradGuard noGrad;
        auto x = torch::randn({2, 3, 12, 16}); // a 3×4 grid: quarter turns change its shape
        const auto moved = permutePatches(x, 4, t);
        auto attentionOf = [&](const torch::Tensor &img) {
            return stackHeadMeanAttention(vit(img, vision::CaptureRequest::allAttention()).attention);
        };
        const auto pi = vision::tokenPermutation(t, 3, 4);
        auto pos = vit->named_parameters()["pos_embed"];
        pos.zero_();
        const auto A = attentionOf(x), Av = attentionOf(moved);
        WSSS_VERIFY_CLOSE(reorderViewAttention(Av, pi), A, 1e-5);
        QVERIFY(activationConsistencyLoss(A, Av, pi).item<double>() < 1e-7);
        QVERIFY(affinityConsistencyLoss(A, Av, pi).item<double>() < 1e-7);
        // Without the reordering the views differ: the check above can fail.
        QVERIFY((A - Av).abs().max().item<double>() > 1e-3);

        pos.normal_(0.0, 1.0);
        const auto P = attentionOf(x), Pv = attentionOf(moved);
        QVERIFY(affinityConsistencyLoss(P, Pv, pi).item<double>() > 1e-4);
    }

    void gradientMapsMatchPerClassAutograd_data()
    {
        QTest::addColumn<int>("gradLayers");
        QTest::newRow("last two of four blocks") << 2;
        QTest::newRow("last block") << 1;
        QTest::newRow("every block") << 4;
    }

    void gradientMapsMatchPerClassAutograd()
    {
        // The method's pass (early blocks without grad, classes stacked in one backward) against
        // the plain procedure of infer_cam.py: one full forward keeping every attention in the
        // graph, one backward per class, ReLU per head, head mean, sum of the last blocks,
        // class-token row over the patches, ReLU.
        QFETCH(int, gradLayers);
        const int K = 3;
        auto acr = makeAcr("vit_demo_patch8", K, {{"grad_layers", gradLayers}});
        acr->eval();
        auto image = torch::randn({1, 3, 32, 40});
        auto pass = [&] {
            torch::NoGradGuard noGrad; // as inferImage holds it
            return acr->gradientPass(image, vision::CaptureRequest::none());
        }();
        QCOMPARE(pass.gradient.sizes().vec(), (std::vector<std::int64_t>{K, 4, 5}));

        auto out = acr->backbone().forward(image, vision::CaptureRequest::allAttention());
        const auto z = acr->logits(out.preNormTokens)[0];
        const int depth = acr->backboneInfo().depth;
        std::vector<torch::Tensor> chosen(out.attention.end() - gradLayers, out.attention.end());
        for (int c = 0; c < K; ++c) {
            auto grads = torch::autograd::grad({z[c]}, chosen, {}, /*retain_graph=*/true);
            torch::Tensor sum = torch::zeros({21});
            for (auto &g : grads)
                sum = sum + g[0].clamp_min(0).mean(0)[0];
            const auto expected = sum.slice(0, 1).clamp_min(0).reshape({4, 5});
            const double scale = expected.abs().max().item<double>();
            QVERIFY(scale > 0);
            WSSS_VERIFY_CLOSE(pass.gradient[c], expected, 1e-4 * scale);
        }
        WSSS_VERIFY_CLOSE(pass.affinity, vision::patchAffinity(out.attention)[0].detach(), 1e-5);
        WSSS_VERIFY_CLOSE(pass.logits, z.detach(), 1e-5);
        QCOMPARE(depth, 4);
    }

    void inferMaps()
    {
        auto acr = makeAcr("vit_test_patch8", 4);
        acr->eval();
        torch::NoGradGuard noGrad;
        auto image = torch::randn({1, 3, 32, 48});
        auto out = acr->infer(image, true, {});
        QCOMPARE(acr->primaryMap(), std::string("acr"));
        for (const char *kind : {"grad", "acr"}) {
            const auto &m = out.maps.at(kind);
            QCOMPARE(m.sizes().vec(), (std::vector<std::int64_t>{4, 32, 48}));
            QVERIFY(m.min().item<float>() >= 0.0f && m.max().item<float>() <= 1.0f);
            QVERIFY(m.max().item<float>() > 0.9f); // min-max: every non-constant map reaches 1
        }
        QCOMPARE(out.scores.sizes().vec(), (std::vector<std::int64_t>{4}));
        QCOMPARE(static_cast<int>(out.attention.size()), 2);
        QCOMPARE(out.attention[0].sizes().vec(), (std::vector<std::int64_t>{2, 1 + 24, 1 + 24}));
        QCOMPARE(out.gridHeight, std::int64_t{4});
        QVERIFY(!out.maps.at("grad").requires_grad());
        // Refinement changes the maps; without it the primary map is the gradient map.
        QVERIFY((out.maps.at("grad") - out.maps.at("acr")).abs().max().item<float>() > 1e-3);
        QCOMPARE(makeAcr("vit_test_patch8", 4, {{"affinity_refine", false}})->primaryMap(), std::string("grad"));
    }

    void configRoundTripAndPresets()
    {
        const AcrConfig defaults;
        QCOMPARE(defaults.alpha, 125.0);
        QCOMPARE(defaults.beta, 125.0);
        QCOMPARE(defaults.lr, 0.05);
        QCOMPARE(defaults.views, std::vector<std::string>{"hflip"});
        // The last two of ViT-B's 12 blocks, as a sixth of the depth: one of the demo's four.
        QCOMPARE(defaults.gradLayers, 0);
        QCOMPARE(defaults.gradLayersFor(12), 2);
        QCOMPARE(defaults.gradLayersFor(4), 1);
        QCOMPARE(defaults.gradLayersFor(2), 1);
        QCOMPARE(AcrConfig::fromJson({{"grad_layers", 2}}).gradLayersFor(4), 2);
        WSSS_VERIFY_THROWS_WITH(AcrConfig::fromJson({{"grad_layers_fraction", 0}}), "grad_layers_fraction");
        const auto official = defaults.recipe();
        QCOMPARE(official.optimizer, std::string("sgd"));
        QCOMPARE(official.lr, 0.05);
        QCOMPARE(official.momentum, 5e-4);
        QCOMPARE(official.weightDecay, 0.0);
        QCOMPARE(official.backboneLrScale, 1.0);
        QCOMPARE(official.warmup, 0);
        QCOMPARE(official.polyPower, 0.9);

        AcrConfig custom;
        custom.views = {"vflip", "rot90"};
        custom.product = "g_a";
        custom.gradLayers = 3;
        custom.affinityRefine = false;
        custom.alpha = 7;
        const auto back = AcrConfig::fromJson(custom.toJson());
        QCOMPARE(back.toJson(), custom.toJson());
        QCOMPARE(back.views, custom.views);

        const auto paper = AcrConfig::fromJson(configOverrides("", {"preset=paper"}));
        QCOMPARE(paper.lr, 0.01);
        QCOMPARE(paper.alpha, 100.0);
        QCOMPARE(paper.beta, 100.0);
        QCOMPARE(paper.recipe().lr, 0.01);
        QCOMPARE(paper.recipe().momentum, 0.9);
        QCOMPARE(paper.recipe().weightDecay, 5e-4);
        QCOMPARE(AcrConfig::fromJson(paper.toJson()).toJson(), paper.toJson());
        // Explicit keys win over the preset, whatever their order.
        const auto mixed = AcrConfig::fromJson(configOverrides("", {"alpha=50", "preset=paper", "views=vflip"}));
        QCOMPARE(mixed.alpha, 50.0);
        QCOMPARE(mixed.beta, 100.0);
        QCOMPARE(mixed.views, std::vector<std::string>{"vflip"});
        // The method's recipe is the config's.
        QCOMPARE(makeAcr("vit_test_patch8", 2, {{"preset", "paper"}})->recipe().lr, 0.01);

        WSSS_VERIFY_THROWS_WITH(AcrConfig::fromJson({{"alpah", 1}}), "\"alpah\"");
        WSSS_VERIFY_THROWS_WITH(AcrConfig::fromJson({{"preset", "best"}}), "\"best\"");
        WSSS_VERIFY_THROWS_WITH(AcrConfig::fromJson({{"views", {"hflip", "shear"}}}), "\"shear\"");
        WSSS_VERIFY_THROWS_WITH(AcrConfig::fromJson({{"optimizer", "adam"}}), "\"adam\"");
        WSSS_VERIFY_THROWS_WITH(AcrConfig::fromJson({{"product", "ga"}}), "\"ga\"");
        WSSS_VERIFY_THROWS_WITH(makeAcr("vit_test_patch8", 2, {{"grad_layers", 3}}), "grad_layers 3");
    }

    void trainStepLosses()
    {
        // Named losses, weighted by α and β; on a fixed batch a few optimiser steps lower the total.
        auto acr = makeAcr("vit_test_patch8", 3, {{"alpha", 10}, {"beta", 20}});
        acr->train();
        Batch batch;
        batch.images = torch::randn({2, 3, 32, 32});
        batch.labels = torch::tensor({{1.0, 0.0, 1.0}, {0.0, 1.0, 0.0}});
        torch::optim::AdamW optimizer(acr->parameters(), torch::optim::AdamWOptions(1e-3));
        std::vector<double> totals;
        for (int step = 0; step < 15; ++step) {
            auto r = acr->trainStep(batch);
            QCOMPARE(r.losses.size(), std::size_t{3});
            QVERIFY(std::abs(r.losses.at("act").item<double>() - 10 * r.logs.at("l_act")) < 1e-6);
            QVERIFY(std::abs(r.losses.at("aff").item<double>() - 20 * r.logs.at("l_aff")) < 1e-6);
            QVERIFY(r.logs.at("l_act") > 0 && r.logs.at("l_aff") > 0);
            if (step == 0) {
                // Each consistency term alone reaches the first block's attention weights.
                auto qkv = acr->backbone().named_parameters()["blocks.0.attn.qkv.weight"];
                for (const char *name : {"act", "aff"}) {
                    auto g = torch::autograd::grad({r.losses.at(name)}, {qkv}, {}, /*retain_graph=*/true);
                    QVERIFY2(g[0].abs().sum().item<double>() > 0, name);
                }
            }
            auto total = r.total();
            totals.push_back(total.item<double>());
            QVERIFY(std::isfinite(totals.back()));
            optimizer.zero_grad();
            total.backward();
            optimizer.step();
        }
        QVERIFY2(totals.back() < totals.front(), qPrintable(QString("%1 → %2").arg(totals.front()).arg(totals.back())));
    }

    void tinyTrainingRun()
    {
        const std::string data = wsss::test::makeTinyDemoData(m_dir.filePath("data").toStdString(), 6, 3);
        TrainOptions o = wsss::test::tinyRunOptions("acr", data, m_dir.filePath("run").toStdString(), 4, 2);
        std::vector<StepLog> logs;
        TrainCallbacks cb;
        cb.onStep = [&](const StepLog &log) { logs.push_back(log); };
        const auto result = train(o, cb);
        QCOMPARE(static_cast<int>(logs.size()), 4);
        for (const auto &log : logs)
            for (const char *name : {"cls", "act", "aff", "total"})
                QVERIFY2(std::isfinite(log.losses.at(name)), name);
        // The official recipe: SGD at 0.05 with poly decay and no warm-up.
        QVERIFY(std::abs(logs[0].lr - 0.05) < 1e-9);
        QVERIFY(logs[3].lr < logs[0].lr);

        auto loaded = loadCheckpoint(result.checkpointPath);
        QCOMPARE(loaded.header.method, std::string("acr"));
        QCOMPARE(loaded.header.config.at("alpha").get<double>(), 125.0);
        QCOMPARE(loaded.method->primaryMap(), std::string("acr"));
        const auto val = vision::loadVocDataset(data, "val");
        QVERIFY(!val.items.empty());
        const cv::Mat rgb = vision::readImageRgb(val.items.front().imagePath);
        const auto out = inferImage(loaded, rgb, false, torch::kCPU);
        for (const char *kind : {"grad", "acr"}) {
            const auto &m = out.maps.at(kind);
            QCOMPARE(m.sizes().vec(), (std::vector<std::int64_t>{static_cast<std::int64_t>(loaded.header.labelMap.foregroundCount()), rgb.rows, rgb.cols}));
            QVERIFY(m.min().item<float>() >= 0.0f && m.max().item<float>() <= 1.0f + 1e-6f);
        }
        QVERIFY(result.metrics.count("val_miou_best"));
    }
};

QTEST_APPLESS_MAIN(TestAcr)
#include "test_acr.moc"
