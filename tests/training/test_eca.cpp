// The `eca` method: CCE by hand (both forms), the crops and their re-augmentation, the guider
// (keys of its last block, loaded from a run's checkpoint, frozen), SAE's class-aware maps and
// the prototype bank, the staged losses, and a tiny training run through the trainer, the
// checkpoint and inference.
#include "support/tensor_compare.h"
#include "support/tiny_demo_run.h"
#include "training/checkpoint/checkpoint.h"
#include "training/loop/trainer.h"
#include "training/methods/eca/eca_crops.h"
#include "training/methods/eca/eca_losses.h"
#include "training/methods/eca/eca_method.h"
#include "training/methods/inference.h"
#include "training/methods/method_registry.h"
#include "vision/core/error.h"
#include "vision/io/image_io.h"
#include "vision/io/voc_reader.h"

#include <QTemporaryDir>
#include <QtTest>

#include <torch/torch.h>

#include <cmath>
#include <set>

using namespace wsss;
using namespace wsss::training;

namespace {

constexpr int kClasses = 3;

std::shared_ptr<EcaMethod> makeMethod(nlohmann::json config = nlohmann::json::object())
{
    MethodSpec spec;
    spec.method = "eca";
    spec.backbone = "vit_test_patch8"; // width 32, depth 2, patch 8
    spec.numClasses = kClasses;
    if (!config.contains("guider_backbone"))
        config["guider_backbone"] = "vit_test_patch8";
    spec.config = config;
    return std::dynamic_pointer_cast<EcaMethod>(createMethod(spec));
}

// Three images with foreground squares of classes 1 and 2 (and 3 in the last) on background.
Batch squaresBatch(std::int64_t totalSteps, std::int64_t step)
{
    Batch b;
    b.images = torch::randn({3, 3, 64, 64}) * 0.2;
    b.images.slice(2, 8, 32).slice(3, 8, 32) += 1.5;
    b.images.slice(2, 36, 60).slice(3, 30, 58) -= 1.5;
    b.labels = torch::tensor({1.f, 1.f, 0.f, 1.f, 1.f, 0.f, 1.f, 1.f, 1.f}).view({3, kClasses});
    b.step = step;
    b.totalSteps = totalSteps;
    return b;
}

} // namespace

class TestEca : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;

private Q_SLOTS:
    void init() { torch::manual_seed(0); }

    void configDefaultsAndRoundTrip()
    {
        const auto c = EcaConfig::fromJson({{"guider_backbone", "vit_test_patch8"}});
        QCOMPARE(c.carm.seedFraction, 0.3);
        QCOMPARE(c.carm.affinityThreshold, 0.15);
        QCOMPARE(c.carm.cueThreshold, -0.5);
        QCOMPARE(c.prototypes.momentum, 0.99);
        QCOMPARE(c.afa.clsOnlyFraction, 2000.0 / 18000.0);
        QCOMPARE(c.afa.segSwitchFraction, 6000.0 / 18000.0);
        QCOMPARE(c.afa.segScales, (std::vector<double>{1.0, 0.75, 1.25})); // ECA's msc, not AFA's
        QCOMPARE(c.cceStartFraction, 4000.0 / 18000.0);
        QCOMPARE(c.cceLoss, std::string("abs_cosine"));
        QCOMPARE(EcaConfig::fromJson(c.toJson()).toJson(), c.toJson());
        // AFA's keys sit beside ECA's; the paper preset switches every paper reading on.
        QCOMPARE(EcaConfig::fromJson({{"bg_high", 0.6}}).afa.bgHigh, 0.6);
        const auto paper = EcaConfig::fromJson({{"preset", "paper"}});
        QVERIFY(paper.carm.softCue && paper.carm.paperAssignment && paper.prototypes.paperCalibration);
        QCOMPARE(paper.cceLoss, std::string("js"));
        QCOMPARE(paper.afa.bgHigh, 0.5);
        QVERIFY_THROWS_EXCEPTION(Error, EcaConfig::fromJson({{"cce_loss", "l2"}}));
        QVERIFY_THROWS_EXCEPTION(Error, EcaConfig::fromJson({{"guider_scales", std::vector<double>{}}}));
        QVERIFY_THROWS_EXCEPTION(Error, EcaConfig::fromJson({{"no_such_key", 1}}));
    }

    void cceAbsoluteCosineByHand()
    {
        // Vectors (1, 0), (0, 1), (1, 1) labelled 1, 1, 2: positive pairs (0, 1) both ways with
        // |cos| 0; negative pairs (0, 2), (1, 2) both ways with |cos| 1/√2.
        const auto cams = torch::tensor({1.f, 0.f, 1.f, 0.f, 1.f, 1.f}).view({1, 1, 2, 3});
        const auto labels = torch::tensor({1, 1, 2}, torch::kLong).view({1, 1, 3});
        const double expected = 0.5 * (1 - 0.0 / 3) + 0.5 * (4 / std::sqrt(2.0)) / 5;
        QVERIFY(std::abs(cceLoss(cams, labels).item<double>() - expected) < 1e-6);
        // A 255 position takes part in no pair: only the positive pair is left (|cos| 0).
        const auto ignored = torch::tensor({1, 1, 255}, torch::kLong).view({1, 1, 3});
        QVERIFY(std::abs(cceLoss(cams, ignored).item<double>() - 0.5) < 1e-6);
        // Two crops of one image pool their pairs; the mean is over B·V = 2.
        const auto two = torch::cat({cams, cams}, 1), twoLabels = torch::cat({labels, labels}, 1);
        const double pooled = (0.5 * (1 - 0.0 / 5) + 0.5 * (8 / std::sqrt(2.0)) / 9) / 2;
        QVERIFY(std::abs(cceLoss(two, twoLabels).item<double>() - pooled) < 1e-6);
    }

    void cceJensenShannonByHand()
    {
        // Identical vectors: similarity 1; softmax (1, 0) vs (0, 1) logits: JS by hand.
        const auto v = torch::tensor({2.f, 2.f, 0.f, 0.f}).view({2, 2}); // columns (2, 0) and (2, 0)
        QVERIFY(std::abs(ccePairSimilarity(v, "js")[0][1].item<double>() - 1.0) < 1e-6);
        const auto w = torch::tensor({1.f, 0.f, 0.f, 1.f}).view({2, 2}); // columns (1, 0) and (0, 1)
        const double a = std::exp(1.0) / (std::exp(1.0) + 1), b = 1 - a, m = 0.5;
        const double js = a * std::log(a / m) + b * std::log(b / m); // ½·KL(p‖m) + ½·KL(q‖m), symmetric
        QVERIFY(std::abs(ccePairSimilarity(w, "js")[0][1].item<double>() - (1 - js / std::log(2.0))) < 1e-5);
        QVERIFY_THROWS_EXCEPTION(Error, ccePairSimilarity(w, "l1"));
    }

    void hsvRoundTripAndHueShift()
    {
        const auto rgb = torch::rand({3, 5, 7});
        QVERIFY(torch::allclose(hsvToRgb(rgbToHsv(rgb)), rgb, 1e-5, 1e-5));
        // Pure red's hue is 0, green's 1/3.
        const auto red = torch::tensor({1.f, 0.f, 0.f}).view({3, 1, 1}), green = torch::tensor({0.f, 1.f, 0.f}).view({3, 1, 1});
        QVERIFY(std::abs(rgbToHsv(red)[0].item<float>()) < 1e-6);
        QVERIFY(std::abs(rgbToHsv(green)[0].item<float>() - 1.f / 3) < 1e-6);
        // No jitter at all: the image comes back.
        QVERIFY(torch::allclose(colorJitter(rgb, ColorJitterRanges{0, 0, 0, 0}), rgb));
    }

    void cropsCentreOnForegroundAndFlipWithTheirLabel()
    {
        // One foreground pixel far enough from the border: a single crop is centred on it.
        const auto image = torch::rand({1, 3, 32, 32});
        auto labels = torch::zeros({1, 32, 32}, torch::kLong);
        labels[0][12][20] = 2;
        vision::Normalization norm;
        const CropAugment none{{0, 0, 0, 0}, 0, 0};
        const auto crops = correspondenceCrops(image, labels, 1, 16, none, norm);
        QCOMPARE(crops.images.sizes().vec(), (std::vector<std::int64_t>{1, 3, 16, 16}));
        const auto mean = torch::tensor({0.485f, 0.456f, 0.406f}).view({3, 1, 1});
        const auto stdev = torch::tensor({0.229f, 0.224f, 0.225f}).view({3, 1, 1});
        const auto expected = (image[0].slice(1, 4, 20).slice(2, 12, 28) - mean) / stdev;
        QVERIFY(torch::allclose(crops.images[0], expected, 1e-5, 1e-5));
        QCOMPARE(crops.labels[0][8][8].item<std::int64_t>(), std::int64_t{2});
        const CropAugment flip{{0, 0, 0, 0}, 0, 1};
        const auto flipped = correspondenceCrops(image, labels, 1, 16, flip, norm);
        QVERIFY(torch::allclose(flipped.images[0], expected.flip({2}), 1e-5, 1e-5));
        QCOMPARE(flipped.labels[0][8][7].item<std::int64_t>(), std::int64_t{2});
        // Fewer foreground pixels than crops (as the code: any pixel of the square), or none: two
        // crops from inside the image all the same.
        QCOMPARE(correspondenceCrops(image, labels, 2, 16, none, norm).images.size(0), std::int64_t{2});
        const auto background = correspondenceCrops(image, torch::zeros({1, 32, 32}, torch::kLong), 2, 16, none, norm);
        QCOMPARE(background.images.size(0), std::int64_t{2});
        QVERIFY_THROWS_EXCEPTION(Error, correspondenceCrops(image, labels, 2, 40, none, norm));
    }

    void classesInLabelMaps()
    {
        auto maps = torch::zeros({2, 4, 4}, torch::kLong);
        maps[0][0][0] = 3;
        maps[0][1][1] = 255;
        maps[1][2][2] = 1;
        const auto present = EcaMethod::classesIn(maps, kClasses);
        QVERIFY(torch::equal(present, torch::tensor({0.f, 0.f, 1.f, 1.f, 0.f, 0.f}).view({2, 3})));
    }

    void guiderKeysAreItsLastBlocks()
    {
        auto m = makeMethod();
        auto &vit = m->guider()->vit();
        const auto image = torch::rand({2, 3, 32, 48});
        const auto keys = m->guider()->keysAt(image, 1.0);
        QCOMPARE(keys.gridH, std::int64_t{4});
        QCOMPARE(keys.gridW, std::int64_t{6});
        QCOMPARE(keys.keys.sizes().vec(), (std::vector<std::int64_t>{2, 24, 32}));
        QCOMPARE(keys.clsQuery.sizes().vec(), (std::vector<std::int64_t>{2, 32}));
        // The same keys as a capture of the ViT's last block, heads concatenated.
        const auto norm = vit.info().norm;
        const auto x = (image - torch::tensor({norm.mean[0], norm.mean[1], norm.mean[2]}).view({1, 3, 1, 1})) /
                       torch::tensor({norm.std[0], norm.std[1], norm.std[2]}).view({1, 3, 1, 1});
        vision::CaptureRequest capture;
        capture.layers = {-1};
        capture.keys = true;
        torch::NoGradGuard noGrad;
        const auto out = vit.forward(x, capture);
        const auto expected = out.keys.back().permute({0, 2, 1, 3}).flatten(2).slice(1, 1);
        QVERIFY(torch::allclose(keys.keys, expected, 1e-5, 1e-6));
        // Half scale: half the grid.
        QCOMPARE(m->guider()->keysAt(image, 0.5).gridW, std::int64_t{3});
        // Frozen: no gradients and eval mode even when the method trains.
        m->train();
        QVERIFY(!m->guider()->is_training());
        for (const auto &p : m->guider()->parameters())
            QVERIFY(!p.requires_grad());
    }

    void classAwareMapsAndPrototypes()
    {
        auto m = makeMethod();
        m->eval();
        torch::NoGradGuard noGrad;
        const auto image = torch::rand({2, 3, 32, 32});
        auto cams = torch::zeros({2, kClasses, 32, 32});
        cams.slice(2, 0, 16).select(1, 0).fill_(0.9);
        cams.slice(2, 16, 32).select(1, 1).fill_(0.8);
        const auto labels = torch::tensor({1.f, 1.f, 0.f, 1.f, 0.f, 0.f}).view({2, kClasses});
        const auto features = torch::randn({2, m->backboneInfo().channels, 4, 4});
        const auto before = m->prototypes().clone();
        const auto maps = m->classAwareMaps(image, cams, labels, torch::Tensor(), features, false);
        QCOMPARE(maps.raw.sizes().vec(), (std::vector<std::int64_t>{2, kClasses + 1, 4, 4}));
        QCOMPARE(maps.affinity.sizes().vec(), (std::vector<std::int64_t>{2, 16, 16}));
        QCOMPARE(maps.cue.sizes().vec(), (std::vector<std::int64_t>{2, 16}));
        // Absent classes stay 0; the background is clamped to [0.1, 0.6].
        QCOMPARE(maps.raw[0][3].abs().max().item<float>(), 0.f);
        QCOMPARE(maps.raw[1][2].abs().max().item<float>(), 0.f);
        QVERIFY(maps.raw.select(1, 0).min().item<float>() >= 0.1f - 1e-6);
        QVERIFY(maps.raw.select(1, 0).max().item<float>() <= 0.6f + 1e-6);
        // Calibration only with two foreground classes (image 0), never for image 1.
        QVERIFY(torch::equal(maps.calibrated[1], maps.raw[1]));
        QVERIFY(torch::equal(m->prototypes(), before)); // not asked to update
        m->classAwareMaps(image, cams, labels, torch::Tensor(), features, true);
        // Classes 1 and 2 (rows 0, 1) moved towards the features; class 3 (absent) did not.
        QVERIFY(!torch::equal(m->prototypes()[0], before[0]));
        QVERIFY(!torch::equal(m->prototypes()[1], before[1]));
        QVERIFY(torch::equal(m->prototypes()[2], before[2]));
    }

    // ECA's own maps need AFA's CAMs, not its walk or segmentation; each asked-for map is infer()'s.
    void aMapAskedForIsInfersWithoutTheOthersWork()
    {
        auto m = makeMethod();
        m->eval();
        torch::NoGradGuard noGrad;
        const auto image = torch::rand({1, 3, 32, 32});
        const auto labels = torch::tensor({1.f, 1.f, 0.f});
        const auto all = m->infer(image, false, labels);
        for (const std::string kind : {"carm", "carm_raw", "carm_calibrated", "guider_cue", "aff", "seg"}) {
            const auto only = m->inferMaps(image, labels, {kind});
            WSSS_VERIFY_CLOSE(only.maps.at(kind), all.maps.at(kind), 0.0);
            QCOMPARE(only.backgrounds.count(kind), all.backgrounds.count(kind));
            if (all.backgrounds.count(kind))
                WSSS_VERIFY_CLOSE(only.backgrounds.at(kind), all.backgrounds.at(kind), 0.0);
        }
        const auto carm = m->inferMaps(image, labels, {"carm"});
        QVERIFY(!carm.maps.count("seg") && !carm.maps.count("aff") && !carm.maps.count("carm_raw"));
        QVERIFY(carm.affinities.empty());
    }

    void stagedLossesAndFrozenGuider()
    {
        auto m = makeMethod();
        m->train();
        const auto guiderBefore = wsss::test::parameterSnapshot(*m->guider());
        // Classification alone up to 2000/18000 of the run; the CARM terms after it; CAM seg and
        // CCE after 4000/18000.
        QCOMPARE(m->trainStep(squaresBatch(18, 1)).losses.size(), std::size_t{1});
        const auto middle = m->trainStep(squaresBatch(18, 3));
        QVERIFY(middle.losses.count("seg_carm") && middle.losses.count("aff"));
        QVERIFY(!middle.losses.count("cce") && !middle.losses.count("seg_cam"));
        const auto late = m->trainStep(squaresBatch(18, 10));
        for (const char *name : {"cls", "seg_carm", "aff", "seg_cam", "cce"}) {
            QVERIFY2(late.losses.count(name), name);
            QVERIFY2(std::isfinite(late.losses.at(name).item<double>()), name);
        }
        // The optimiser never sees the guider; a step leaves it as it was.
        std::set<const void *> guider;
        for (const auto &p : m->guider()->parameters())
            guider.insert(p.unsafeGetTensorImpl());
        auto recipe = m->recipe();
        auto groups = m->parameterGroups(recipe);
        std::size_t held = 0;
        for (auto &g : groups)
            for (const auto &p : g.params()) {
                QVERIFY(!guider.count(p.unsafeGetTensorImpl()));
                ++held;
            }
        QVERIFY(held > 0);
        torch::optim::AdamW opt(groups, torch::optim::AdamWOptions(recipe.lr));
        auto loss = late.total();
        opt.zero_grad();
        loss.backward();
        opt.step();
        for (const auto &p : m->guider()->named_parameters(true))
            QVERIFY2(torch::equal(p.value(), guiderBefore.at(p.key())), p.key().c_str());
    }

    void fewStepsReduceTheLoss()
    {
        // Every term on (past 4000/18000 of the run), the same batch each step: the total falls.
        auto m = makeMethod();
        m->train();
        auto recipe = m->recipe();
        torch::optim::AdamW opt(m->parameterGroups(recipe), torch::optim::AdamWOptions(recipe.lr));
        std::vector<double> losses;
        for (int i = 0; i < 30; ++i) {
            torch::manual_seed(1); // the same crops and jitter each step
            auto loss = m->trainStep(squaresBatch(18, 10)).total();
            losses.push_back(loss.item<double>());
            opt.zero_grad();
            loss.backward();
            opt.step();
        }
        const double first = (losses[0] + losses[1]) / 2, last = (losses[28] + losses[29]) / 2;
        QVERIFY2(last < first * 0.9, (std::to_string(first) + " → " + std::to_string(last)).c_str());
    }

    void missingGuiderIsNamed()
    {
        auto m = makeMethod();
        try {
            m->loadAuxiliaryWeights();
            QFAIL("a run without a guider started");
        } catch (const Error &e) {
            QVERIFY2(std::string(e.what()).find("--guider") != std::string::npos, e.what());
        }
        QCOMPARE(m->startProblems().size(), std::size_t{1}); // the New Training form says so before a start
        const auto missing = m_dir.filePath("no_such.safetensors").toStdString();
        auto bad = makeMethod({{"guider", missing}});
        QVERIFY(bad->startProblems().front().find(missing) != std::string::npos);
        QVERIFY_THROWS_EXCEPTION(Error, bad->loadAuxiliaryWeights());
    }

    void tinyTrainingRunWithARunAsGuider()
    {
        QVERIFY(m_dir.isValid());
        const std::string data = wsss::test::makeTinyDemoData(m_dir.filePath("data").toStdString(), 6, 3);
        // The guider: another run's backbone (a `cam` run here; `dino` in practice).
        const auto guiderRun = train(wsss::test::tinyRunOptions("cam", data, m_dir.filePath("guider").toStdString(), 2, 2));
        TrainOptions o = wsss::test::tinyRunOptions("eca", data, m_dir.filePath("run").toStdString(), 9, 3);
        o.sets = {"guider=\"" + guiderRun.checkpointPath + "\""};
        std::vector<StepLog> logs;
        TrainCallbacks cb;
        cb.onStep = [&](const StepLog &log) { logs.push_back(log); };
        const auto result = train(o, cb);
        QCOMPARE(static_cast<int>(logs.size()), 9);
        for (const char *name : {"cls", "seg_carm", "aff", "seg_cam", "cce", "total"})
            QVERIFY2(std::isfinite(logs.back().losses.at(name)), name);

        auto loaded = loadCheckpoint(result.checkpointPath);
        QCOMPARE(loaded.header.method, std::string("eca"));
        QCOMPARE(loaded.header.config.at("guider_backbone").get<std::string>(), std::string("vit_test_patch8"));
        // The guider in the checkpoint is the guider run's backbone, untouched by training.
        auto guider = loadCheckpoint(guiderRun.checkpointPath);
        auto *eca = dynamic_cast<EcaMethod *>(loaded.method.get());
        QVERIFY(eca);
        QCOMPARE(wsss::test::firstDifferentTensor(guider.method->backbone(), eca->guider()->vit()), std::string());

        const auto val = vision::loadVocDataset(data, "val");
        const cv::Mat rgb = vision::readImageRgb(val.items.front().imagePath);
        const auto outA = inferImage(loaded, rgb, true, torch::kCPU, val.items.front().labels);
        auto again = loadCheckpoint(result.checkpointPath);
        const auto outB = inferImage(again, rgb, true, torch::kCPU, val.items.front().labels);
        for (const char *kind : {"carm", "carm_raw", "carm_calibrated", "guider_cue", "cam", "aff", "seg"}) {
            QVERIFY2(outA.maps.count(kind), kind);
            QVERIFY2(torch::equal(outA.maps.at(kind), outB.maps.at(kind)), kind);
            QCOMPARE(outA.maps.at(kind).size(0), static_cast<std::int64_t>(kClasses + 7)); // the demo's 10
        }
        QVERIFY(outA.backgrounds.count("carm"));
        QCOMPARE(outA.affinities.at("guider").size(0), outA.gridHeight * outA.gridWidth);
        QVERIFY(outA.maps.at("carm").max().item<float>() <= 1.f);
        // The mask is the argmax over [background; CARMs] with the image's classes only.
        const auto mask = pseudoMask(loaded, outA, val.items.front().labels, 0.5f);
        QCOMPARE(mask.rows, rgb.rows);
    }
};

QTEST_APPLESS_MAIN(TestEca)
#include "test_eca.moc"
