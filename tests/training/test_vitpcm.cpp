// The `vitpcm` method: its losses by hand, the view geometry and mosaics, the frozen warm-up and
// the partial unfreezing, a few optimiser steps on a fixed batch, the BPM from infer(), and a
// tiny training run through the trainer, the checkpoint and inference.
#include "support/tiny_demo_run.h"
#include "support/tensor_compare.h"
#include "training/checkpoint/checkpoint.h"
#include "training/data/demo_generator.h"
#include "training/loop/trainer.h"
#include "training/methods/inference.h"
#include "training/methods/method_registry.h"
#include "training/methods/vitpcm/vitpcm_losses.h"
#include "training/methods/vitpcm/vitpcm_method.h"
#include "vision/io/image_io.h"
#include "vision/io/voc_reader.h"
#include "vision/maps/pcm_maps.h"

#include <QTemporaryDir>
#include <QtTest>

#include <torch/torch.h>

#include <cmath>
#include <set>

using namespace wsss;
using namespace wsss::training;

namespace {

constexpr int kClasses = 3; // foreground K

std::shared_ptr<VitPcmMethod> makeMethod(nlohmann::json config = nlohmann::json::object())
{
    MethodSpec spec;
    spec.method = "vitpcm";
    spec.backbone = "vit_test_patch8"; // width 32, depth 2, patch 8
    spec.numClasses = kClasses;
    if (!config.contains("hidden"))
        config["hidden"] = 8;
    spec.config = config;
    return std::dynamic_pointer_cast<VitPcmMethod>(createMethod(spec));
}

std::set<std::string> trainableBackboneKeys(VitPcmMethod &m)
{
    std::set<std::string> keys;
    for (const auto &p : m.backbone().named_parameters(true))
        if (p.value().requires_grad())
            keys.insert(p.key());
    return keys;
}

void clearGrads(torch::nn::Module &m)
{
    for (auto &p : m.parameters(true))
        p.mutable_grad() = torch::Tensor();
}

} // namespace

class TestVitPcm : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;

private Q_SLOTS:
    void init() { torch::manual_seed(0); }

    void configPresetsAndJson()
    {
        const auto official = VitPcmConfig::fromJson(nlohmann::json::object());
        QCOMPARE(official.l2, 0.01);
        QCOMPARE(official.classifierInitStd, 0.05);
        QCOMPARE(official.unfreezeBlocksFor(12), 5);
        QCOMPARE(official.unfreezeBlocksFor(4), 2);
        QCOMPARE(official.unfreezeBlocksFor(2), 1);
        QCOMPARE(official.warmupStepsFor(80), std::int64_t{1});
        QCOMPARE(official.warmupStepsFor(40), std::int64_t{1});
        QCOMPARE(official.warmupStepsFor(8000), std::int64_t{100});
        const auto paper = VitPcmConfig::fromJson({{"preset", "paper"}, {"l2", 0.5}});
        QCOMPARE(paper.unfreezeBlocksFor(12), 4);
        QCOMPARE(paper.l2, 0.5); // an explicit key wins over the preset
        QCOMPARE(paper.classifierInitStd, 1.0);
        QCOMPARE(VitPcmConfig::fromJson(paper.toJson()).toJson(), paper.toJson());
        WSSS_VERIFY_THROWS_WITH(VitPcmConfig::fromJson({{"nosuch", 1}}), "unknown config key \"nosuch\"");
        WSSS_VERIFY_THROWS_WITH(VitPcmConfig::fromJson({{"et_scale", 0.0}}), "et_scale");
        const auto recipe = official.recipe();
        QCOMPARE(recipe.weightDecay, 0.0);
        QCOMPARE(recipe.polyPower, 0.0);
        QVERIFY(std::abs(recipe.lr * recipe.backboneLrScale - 1e-4) < 1e-12);
    }

    void shapes()
    {
        auto m = makeMethod();
        m->eval();
        torch::NoGradGuard noGrad;
        const auto z = m->patchClassMaps(torch::randn({2, 3, 32, 48}));
        QCOMPARE(z.sizes().vec(), (std::vector<std::int64_t>{2, kClasses + 1, 4, 6}));
        WSSS_VERIFY_CLOSE(z.sum(1), torch::ones({2, 4, 6}), 1e-5);
        const auto out = m->infer(torch::randn({1, 3, 32, 48}), true, torch::Tensor());
        QCOMPARE(out.maps.at("pcm").sizes().vec(), (std::vector<std::int64_t>{kClasses, 32, 48}));
        QCOMPARE(out.backgrounds.at("pcm").sizes().vec(), (std::vector<std::int64_t>{32, 48}));
        QCOMPARE(out.scores.sizes().vec(), (std::vector<std::int64_t>{kClasses}));
        QCOMPARE(out.attention.size(), std::size_t{2}); // both blocks of the test backbone
        // Inference at 2.5× the input (960 / 384), in whole patches.
        QCOMPARE(out.gridHeight, std::int64_t{10});
        QCOMPARE(out.gridWidth, std::int64_t{15});
        QCOMPARE(out.attention[0].size(-1), std::int64_t{1 + 10 * 15});
        QVERIFY(m->predictsBackground());
        QCOMPARE(m->primaryMap(), std::string("pcm"));
        // The classifier is bias-free over background + K classes.
        QCOMPARE(m->head()->classifierWeight().sizes().vec(), (std::vector<std::int64_t>{kClasses + 1, 32}));
        for (const auto &p : m->head()->named_parameters())
            QVERIFY2(p.key().find("classifier.bias") == std::string::npos, p.key().c_str());
    }

    void lossesByHand()
    {
        // BCE: scores [0.9, 0.2] against [1, 0] → −(log(0.9 + 1e-7) + log(0.8 + 1e-7)) / 2.
        const auto bce = multilabelBceLoss(torch::tensor({0.9, 0.2}, torch::kDouble).view({1, 2}),
                                           torch::tensor({1.0, 0.0}, torch::kDouble).view({1, 2}));
        QVERIFY(std::abs(bce.item<double>() - (-(std::log(0.9 + 1e-7) + std::log(0.8 + 1e-7)) / 2)) < 1e-12);
        QVERIFY(std::abs(bce.item<double>() - 0.164252033) < 1e-6);
        // A score of exactly 1 against a 0 target is clipped, not infinite: −log(1e-7 + 1e-7).
        const auto clipped = multilabelBceLoss(torch::tensor({1.0}, torch::kDouble).view({1, 1}),
                                               torch::tensor({0.0}, torch::kDouble).view({1, 1}));
        QVERIFY(std::abs(clipped.item<double>() + std::log(2e-7)) < 1e-6);
        // L2: 0.01 · (1 + 4 + 9 + 0) = 0.14.
        QVERIFY(std::abs(l2Loss(torch::tensor({1.0, 2.0, 3.0, 0.0}).view({2, 2}), 0.01).item<double>() - 0.14) < 1e-7);
        // CCE: two patches; R = [0.5, 0.5] and [0.2, 0.8] (unnormalised [1, 4]); Q = [1, 0] and [0.5, 0.5]:
        // (log 2 + (−0.5·log 0.2 − 0.5·log 0.8)) / 2.
        const auto R = torch::tensor({0.5, 1.0, 0.5, 4.0}, torch::kDouble).view({1, 2, 1, 2});
        const auto Q = torch::tensor({1.0, 0.5, 0.0, 0.5}, torch::kDouble).view({1, 2, 1, 2});
        const double expected = (std::log(2.0) - 0.5 * std::log(0.2) - 0.5 * std::log(0.8)) / 2;
        QVERIFY(std::abs(equivarianceLoss(R, Q).item<double>() - expected) < 1e-7);
    }

    void equivarianceIsZeroForIdentityOnly()
    {
        // A non-symmetric patch-class map P: the transformed prediction of an equivariant model
        // is the transformed P, and L_ET's gap to its minimum is zero exactly there.
        auto P = torch::softmax(torch::randn({2, kClasses + 1, 4, 4}, torch::kDouble) * 3, 1);
        const std::vector<ViewGeometry> identity(2);
        QVERIFY(identity[0].isIdentity());
        const auto same = applyViewGeometry(P, identity, 1, 4, 4);
        WSSS_VERIFY_CLOSE(same, P, 0);
        QVERIFY(std::abs(equivarianceGap(same, P).item<double>()) < 1e-9);

        ViewGeometry flip;
        flip.flipLr = true;
        ViewGeometry crop;
        crop.cropY = 1, crop.cropX = 2, crop.cropHeight = 2, crop.cropWidth = 2, crop.transpose = true;
        for (const auto &g : {flip, crop}) {
            const std::vector<ViewGeometry> gs(2, g);
            const auto target = applyViewGeometry(P, gs, 1, 4, 4);
            // The untransformed prediction against the transformed one: a positive gap.
            QVERIFY(equivarianceGap(P, target).item<double>() > 1e-3);
            QVERIFY(equivarianceGap(target, target).item<double>() < 1e-9);
        }
    }

    void viewGeometryAgreesOnPixelsAndPatches()
    {
        // An image whose 8×8 patches are constant: cropping, flipping and transposing the pixels
        // equals doing it to the patch grid and then expanding each patch.
        const auto grid = torch::randn({1, 3, 4, 4});
        const auto pixels = grid.repeat_interleave(8, 2).repeat_interleave(8, 3);
        ViewGeometry g;
        g.cropY = 2, g.cropX = 1, g.cropHeight = 2, g.cropWidth = 2;
        g.flipLr = g.flipUd = g.transpose = true;
        const auto onPatches = applyViewGeometry(grid, {g}, 1, 2, 2);
        const auto onPixels = applyViewGeometry(pixels, {g}, 8, 16, 16);
        WSSS_VERIFY_CLOSE(onPixels, onPatches.repeat_interleave(8, 2).repeat_interleave(8, 3), 0);
        // LR flip, UD flip, then transpose (the official order): out(i, j) = window(1 − j, 1 − i).
        const auto window = grid.slice(2, 2, 4).slice(3, 1, 3); // [1, 3, 2, 2]
        WSSS_VERIFY_CLOSE(onPatches.select(2, 1).select(2, 0), window.select(2, 1).select(2, 0), 0);
        WSSS_VERIFY_CLOSE(onPatches.select(2, 0).select(2, 1), window.select(2, 0).select(2, 1), 0);
        WSSS_VERIFY_CLOSE(onPatches.select(2, 0).select(2, 0), window.select(2, 1).select(2, 1), 0);
    }

    void mosaicsRoundTrip()
    {
        const auto tiles = torch::randn({5, 2, 3, 3});
        const auto mosaics = makeMosaics(tiles);
        QCOMPARE(mosaics.sizes().vec(), (std::vector<std::int64_t>{2, 2, 6, 6}));
        WSSS_VERIFY_CLOSE(mosaics[0].slice(1, 0, 3).slice(2, 3, 6), tiles[1], 0); // top-right
        WSSS_VERIFY_CLOSE(mosaics[0].slice(1, 3, 6).slice(2, 0, 3), tiles[2], 0); // bottom-left
        WSSS_VERIFY_CLOSE(mosaics[1].slice(1, 0, 3).slice(2, 0, 3), tiles[4], 0);
        WSSS_VERIFY_CLOSE(mosaics[1].slice(1, 0, 3).slice(2, 3, 6), tiles[0], 0); // padding repeats the batch
        WSSS_VERIFY_CLOSE(splitMosaics(mosaics, 5), tiles, 0);
    }

    void warmupFreezesBackboneThenUnfreezesLastBlocks()
    {
        auto m = makeMethod({{"unfreeze_blocks", 1}});
        m->train();
        m->setWarmup(true);
        QVERIFY(trainableBackboneKeys(*m).empty());
        // The head trains throughout (bias_hh is the HV-BiLSTM's permanent zero: Keras has one bias).
        for (const auto &p : m->head()->named_parameters())
            QVERIFY2(p.value().requires_grad() == (p.key().find("bias_hh") == std::string::npos), p.key().c_str());
        m->setWarmup(false);
        for (const auto &key : trainableBackboneKeys(*m))
            QVERIFY2(key.rfind("blocks.1.", 0) == 0 || key.rfind("norm.", 0) == 0, key.c_str());
        std::size_t expected = 0;
        for (const auto &p : m->backbone().named_parameters(true))
            expected += p.key().rfind("blocks.1.", 0) == 0 || p.key().rfind("norm.", 0) == 0;
        QVERIFY(expected > 2);
        QCOMPARE(trainableBackboneKeys(*m).size(), expected);

        // Through trainStep: step 0 of 80 is the warm-up (1 of 80 epochs), step 1 is not.
        Batch batch;
        batch.images = torch::randn({4, 3, 32, 32});
        batch.labels = torch::tensor({1.0f, 0.0f, 1.0f, 0.0f, 1.0f, 0.0f, 1.0f, 1.0f, 0.0f, 0.0f, 0.0f, 1.0f}).view({4, 3});
        batch.totalSteps = 80;
        for (std::int64_t step : {0, 1}) {
            batch.step = step;
            clearGrads(*m);
            auto r = m->trainStep(batch);
            QCOMPARE(r.logs.at("warmup"), step == 0 ? 1.0 : 0.0);
            r.total().backward();
            for (const auto &p : m->backbone().named_parameters(true)) {
                const bool unfrozen = p.key().rfind("blocks.1.", 0) == 0 || p.key().rfind("norm.", 0) == 0;
                QVERIFY2(p.value().grad().defined() == (step == 1 && unfrozen), p.key().c_str());
            }
            for (const auto &p : m->head()->named_parameters())
                QVERIFY2(p.value().grad().defined() == p.value().requires_grad(), p.key().c_str());
        }
        // The optimiser is built with every parameter, whatever the phase.
        m->setWarmup(true);
        std::size_t grouped = 0, expectedGrouped = m->backbone().parameters(true).size();
        for (const auto &g : m->parameterGroups(m->recipe()))
            grouped += g.params().size();
        for (const auto &p : m->head()->parameters())
            expectedGrouped += p.requires_grad();
        QCOMPARE(grouped, expectedGrouped);
        QVERIFY(trainableBackboneKeys(*m).empty()); // the flags are restored
    }

    void equivarianceTermOnTheModel()
    {
        // Identity geometry, views at full size, no mosaic, no dropout, eval mode: the student
        // is the teacher, so L_ET is the teacher-target cross-entropy; a flip makes it larger
        // than the target's entropy bound only through the model's lack of equivariance, and the
        // term is finite and differentiable into the head either way.
        auto m = makeMethod({{"dropout", 0.0}, {"lstm_dropout", 0.0}, {"mosaic", false}, {"et_scale", 1.0}});
        m->eval();
        const auto images = torch::randn({2, 3, 32, 32});
        const auto labels = torch::ones({2, kClasses});
        auto [et, gap] = m->equivarianceTerm(images, labels, std::vector<ViewGeometry>(2), 4, 4);
        QVERIFY(std::isfinite(et.item<double>()) && gap.item<double>() >= -1e-6);
        et.backward();
        QVERIFY(m->head()->classifierWeight().grad().defined());
        // Mosaic path: four 2×2-patch views in one 4×4-patch mosaic.
        auto mm = makeMethod();
        mm->train();
        ViewGeometry g;
        g.flipUd = true;
        auto [et2, gap2] = mm->equivarianceTerm(torch::randn({4, 3, 32, 32}), torch::ones({4, kClasses}),
                                                std::vector<ViewGeometry>(4, g), 2, 2);
        QVERIFY(std::isfinite(et2.item<double>()) && gap2.item<double>() > 0);
    }

    void stepsReduceTheLossOnAFixedBatch()
    {
        auto m = makeMethod({{"dropout", 0.0}, {"lstm_dropout", 0.0}, {"vit_dropout", 0.0}, {"equivariance", false}});
        m->train();
        Batch batch;
        batch.images = torch::randn({4, 3, 32, 32});
        batch.labels = torch::tensor({1.0f, 0.0f, 0.0f, 0.0f, 1.0f, 0.0f, 0.0f, 0.0f, 1.0f, 1.0f, 0.0f, 1.0f}).view({4, 3});
        batch.totalSteps = 10;
        auto recipe = m->recipe();
        recipe.lr = 1e-2;
        torch::optim::AdamW optimizer(m->parameterGroups(recipe), torch::optim::AdamWOptions(recipe.lr));
        std::vector<double> totals;
        for (int step = 0; step < 10; ++step) {
            batch.step = step;
            auto loss = m->trainStep(batch).total();
            totals.push_back(loss.item<double>());
            optimizer.zero_grad();
            loss.backward();
            optimizer.step();
        }
        QVERIFY2(totals.back() < totals.front(), qPrintable(QString("%1 → %2").arg(totals.front()).arg(totals.back())));
    }

    void inferGivesTheBpm()
    {
        auto m = makeMethod();
        m->eval();
        torch::NoGradGuard noGrad;
        const auto image = torch::randn({1, 3, 40, 32});
        const auto labels = torch::tensor({1.0f, 0.0f, 1.0f});
        const auto out = m->infer(image, false, labels);
        const auto stacked = torch::cat({out.backgrounds.at("pcm").unsqueeze(0), out.maps.at("pcm")}, 0);
        const auto input = m->inferInput(image);
        QCOMPARE(input.sizes().vec(), (std::vector<std::int64_t>{1, 3, 104, 80})); // 2.5 × [40, 32], whole patches
        const auto z = m->patchClassMaps(input);
        const auto bpm = vision::patchClassPseudoMask(
            vision::labelMaskedPatchClassMaps(z, vision::withBackgroundBit(labels.view({1, -1}))), 40, 32)[0];
        QVERIFY(torch::equal(stacked.argmax(0), bpm));
        // An absent class never wins; maps are probabilities.
        QVERIFY(!(bpm == 2).any().item<bool>());
        QVERIFY(stacked.min().item<float>() >= 0 && stacked.max().item<float>() <= 1 + 1e-6);
        // Without labels: the raw Z, upsampled.
        const auto raw = m->infer(image, false, torch::Tensor());
        const auto rawStacked = torch::cat({raw.backgrounds.at("pcm").unsqueeze(0), raw.maps.at("pcm")}, 0);
        QVERIFY(torch::equal(rawStacked.argmax(0), vision::patchClassPseudoMask(z, 40, 32)[0]));
    }

    // pcm_background=rule: the same class maps without their background channel, so the
    // pseudo-label rule's threshold decides (and the method says it does not predict background).
    void ruleBackgroundDropsTheSoftmaxBackground()
    {
        auto own = makeMethod();
        auto rule = makeMethod({{"pcm_background", "rule"}});
        QVERIFY(own->predictsBackground());
        QVERIFY(!rule->predictsBackground());
        wsss::test::copyParameters(*own, *rule);
        own->eval();
        rule->eval();
        torch::NoGradGuard noGrad;
        const auto image = torch::randn({1, 3, 32, 32});
        const auto labels = torch::tensor({1.0f, 0.0f, 1.0f});
        const auto a = own->infer(image, false, labels);
        const auto b = rule->infer(image, false, labels);
        QVERIFY(b.backgrounds.count("pcm") == 0);
        QVERIFY(torch::equal(a.maps.at("pcm"), b.maps.at("pcm")));
        WSSS_VERIFY_THROWS_WITH(VitPcmConfig::fromJson({{"pcm_background", "argmax"}}), "pcm_background \"argmax\"");
    }

    void tinyTrainingRunAndCheckpoint()
    {
        QVERIFY(m_dir.isValid());
        const std::string data = wsss::test::makeTinyDemoData(m_dir.filePath("data").toStdString(), 8, 3);
        TrainOptions o = wsss::test::tinyRunOptions("vitpcm", data, m_dir.filePath("run").toStdString(), 4, 4);
        o.sets = {"hidden=8", "warmup_fraction=0.25"};
        std::vector<StepLog> logs;
        TrainCallbacks cb;
        cb.onStep = [&](const StepLog &log) { logs.push_back(log); };
        const auto result = train(o, cb);
        QCOMPARE(static_cast<int>(logs.size()), 4);
        for (const auto &log : logs)
            for (const char *name : {"mce", "reg", "et", "total"})
                QVERIFY2(std::isfinite(log.losses.at(name)), name);
        QCOMPARE(logs[0].logs.at("warmup"), 1.0);
        QCOMPARE(logs[1].logs.at("warmup"), 0.0);
        QCOMPARE(logs[0].lr, logs[3].lr); // constant, as Keras Adam without a schedule

        auto loaded = loadCheckpoint(result.checkpointPath);
        QCOMPARE(loaded.header.method, std::string("vitpcm"));
        QCOMPARE(loaded.header.config.at("hidden").get<int>(), 8);
        QVERIFY(loaded.method->predictsBackground());
        // Saved and loaded again: the same tensors, the same inference.
        const auto copy = m_dir.filePath("copy.wsss").toStdString();
        saveCheckpoint(copy, loaded.header, *loaded.method);
        auto again = loadCheckpoint(copy);
        QCOMPARE(wsss::test::firstDifferentTensor(*loaded.method, *again.method), std::string());
        const auto val = vision::loadVocDataset(data, "val");
        const cv::Mat rgb = vision::readImageRgb(val.items.front().imagePath);
        const auto outA = inferImage(loaded, rgb, false, torch::kCPU, val.items.front().labels);
        const auto outB = inferImage(again, rgb, false, torch::kCPU, val.items.front().labels);
        QVERIFY(torch::equal(outA.maps.at("pcm"), outB.maps.at("pcm")));
        QVERIFY(outA.background.defined());
        QCOMPARE(outA.maps.at("pcm").size(0), static_cast<std::int64_t>(loaded.header.labelMap.foregroundCount()));
    }
};

QTEST_APPLESS_MAIN(TestVitPcm)
#include "test_vitpcm.moc"
