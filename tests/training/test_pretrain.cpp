// `wsss pretrain`: the demo backbone learns to classify single Fashion-MNIST items, its file
// loads back into the preset, and a longer schedule can continue from an earlier run's file. The
// held-out accuracy counts only right answers on the split it is given; label smoothing, the
// multi-label loss, the cosine schedule, augmentation and the EMA each do what they say.
#include "training/data/demo_generator.h"
#include "training/data/fashion_mnist.h"
#include "training/loop/pretrain_state.h"
#include "training/loop/pretrainer.h"
#include "vision/backbones/backbone_registry.h"
#include "vision/backbones/vit.h"
#include "vision/core/error.h"
#include "vision/weights/safetensors.h"
#include "vision/weights/vit_key_maps.h"

#include <QTemporaryDir>
#include <QTest>
#include <opencv2/core.hpp>
#include <torch/torch.h>

#include <cmath>
#include <fstream>

#include <nlohmann/json.hpp>

using namespace wsss;

namespace {

training::PretrainOptions tinyRun(const std::string &out)
{
    training::PretrainOptions o;
    o.backbone = "vit_test_patch8";
    o.out = out;
    o.iters = 200;
    o.batch = 32;
    o.size = 32;
    o.lr = 3e-3;
    o.warmup = 10;
    o.device = "cpu";
    o.evalImages = 1000;
    o.half = false;
    // The plain recipe: each option below has its own test.
    o.schedule = "poly";
    o.labelSmoothing = 0;
    o.emaDecay = 0;
    o.multiFraction = 0;
    o.augment = {};
    return o;
}

} // namespace

class TestPretrain : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    std::string path(const std::string &name) const { return m_dir.filePath(QString::fromStdString(name)).toStdString(); }

private Q_SLOTS:
    void initTestCase() { torch::set_num_threads(2); }

    void learnsAboveChanceAndLoadsBack()
    {
        const auto out = path("tiny.safetensors");
        const auto result = training::pretrain(tinyRun(out));
        // Ten classes: chance is 10 % (± 1 % over 1000 images). The tiny ViT at 32 px reaches about
        // 16 % in 200 steps; a pretrainer that learns nothing stays at chance.
        QVERIFY2(result.accuracy > 0.13, qPrintable(QString("accuracy %1").arg(result.accuracy)));
        QVERIFY(std::isfinite(result.finalLoss));

        vision::VisionTransformer vit(vision::vitPreset("vit_test_patch8"));
        vision::loadVitWeights(*vit, out); // strict: every tensor of the preset, nothing else
        const auto file = vision::readSafetensors(out);
        QCOMPARE(file.metadata.at("backbone"), std::string("vit_test_patch8"));
        QVERIFY(std::abs(std::stod(file.metadata.at("accuracy")) - result.accuracy) < 1e-4);
    }

    void aClassTokenHeadTrainsTheClassToken()
    {
        // With --cls-head the class token gets a classifier of its own: it learns the items as the
        // patch average does (above chance), the run says how well, and the file is the same
        // backbone (no head in it). Without, the run reports no class-token accuracy.
        auto o = tinyRun(path("cls.safetensors"));
        o.clsHead = 1.0;
        o.iters = 600; // two heads on the tiny ViT: a longer run than the one-head tests above
        const auto result = training::pretrain(o);
        QVERIFY2(result.accuracy > 0.13, qPrintable(QString("accuracy %1").arg(result.accuracy)));
        QVERIFY2(result.classTokenAccuracy > 0.13, qPrintable(QString("class token %1").arg(result.classTokenAccuracy)));
        vision::VisionTransformer vit(vision::vitPreset("vit_test_patch8"));
        vision::loadVitWeights(*vit, o.out);
        QVERIFY(vision::readSafetensors(o.out).metadata.at("pretrain").find("class-token head 1.00") != std::string::npos);

        auto plain = tinyRun(path("plain.safetensors"));
        plain.iters = 2;
        plain.evalImages = 16;
        QVERIFY(std::isnan(training::pretrain(plain).classTokenAccuracy));
        plain.clsHead = -1;
        QVERIFY_THROWS_EXCEPTION(Error, training::pretrain(plain));
    }

    void continuesFromAnEarlierFile()
    {
        const auto first = path("first.safetensors");
        auto o = tinyRun(first);
        o.iters = 5;
        o.evalImages = 16;
        training::pretrain(o);

        // With a zero learning rate nothing moves, so the continued run writes the file it read.
        const auto second = path("second.safetensors");
        o.out = second;
        o.weights = first;
        o.lr = 0;
        o.seed = 7;
        training::pretrain(o);
        const auto a = vision::readSafetensors(first).tensors;
        const auto b = vision::readSafetensors(second).tensors;
        QCOMPARE(a.size(), b.size());
        for (const auto &[name, t] : a)
            QVERIFY2(torch::equal(t, b.at(name)), name.c_str());
        QVERIFY(vision::readSafetensors(second).metadata.at("pretrain").find("continued") != std::string::npos);
    }

    void aModelThatGuessesScoresChance()
    {
        const auto testItems = training::loadFashionMnist(training::defaultFashionMnistDir(), false);
        const vision::Normalization norm;
        const int images = 300, size = 32;
        const std::uint64_t seed = 5;
        // Constant scores: argmax is always class 0, right for its ~10 % share only.
        const double constant = training::singleItemAccuracy(
            [](const torch::Tensor &x) { return torch::zeros({x.size(0), 10}); }, testItems, size, images, seed, norm);
        QVERIFY2(constant > 0.04 && constant < 0.17, qPrintable(QString("constant model: %1").arg(constant)));
        // Its confusion: every image answered class 0, so class 0 is all right and the rest all
        // wrong, and the worst cells are the classes drawn most often, answered 0.
        const auto confusion = training::singleItemConfusion(
            [](const torch::Tensor &x) { return torch::zeros({x.size(0), 10}); }, testItems, size, images, seed, norm);
        QCOMPARE(confusion.accuracy(), constant);
        QCOMPARE(confusion.classAccuracy(0), 1.0);
        std::int64_t drawn = 0;
        for (int t = 0; t < 10; ++t) {
            for (int a = 1; a < 10; ++a)
                QCOMPARE(confusion.count(t, a), std::int64_t(0));
            drawn += confusion.count(t, 0);
            if (t > 0 && confusion.count(t, 0) > 0)
                QCOMPARE(confusion.classAccuracy(t), 0.0);
        }
        QCOMPARE(drawn, std::int64_t(images));
        const auto worst = confusion.worstConfusions(3);
        QCOMPARE(int(worst.size()), 3);
        for (const auto &[truth, answer, count] : worst) {
            QVERIFY(truth != 0);
            QCOMPARE(answer, 0);
            QVERIFY(count >= std::get<2>(worst.back()));
        }
        QVERIFY(std::get<2>(worst.front()) >= std::get<2>(worst.back()));
        torch::manual_seed(3);
        const double random = training::singleItemAccuracy(
            [](const torch::Tensor &x) { return torch::rand({x.size(0), 10}); }, testItems, size, images, seed, norm);
        QVERIFY2(random > 0.04 && random < 0.17, qPrintable(QString("random model: %1").arg(random)));

        // An oracle that redraws the same composites from the same split and seed is always right,
        // so the score counts right answers; drawn from the train split instead, it is at chance,
        // so the score is on the split it was given.
        const auto oracle = [&](const training::FashionMnist &items) {
            auto compositor = std::make_shared<training::DemoCompositor>(items, size);
            auto rng = std::make_shared<std::mt19937_64>(seed);
            return [compositor, rng](const torch::Tensor &x) {
                auto scores = torch::zeros({x.size(0), 10});
                for (std::int64_t i = 0; i < x.size(0); ++i) {
                    int cls = 0;
                    compositor->composeSingle(*rng, &cls);
                    scores[i][cls] = 1.0f;
                }
                return scores;
            };
        };
        QCOMPARE(training::singleItemAccuracy(oracle(testItems), testItems, size, images, seed, norm), 1.0);
        QVERIFY(training::singleItemConfusion(oracle(testItems), testItems, size, images, seed, norm)
                    .worstConfusions(5)
                    .empty());
        const auto trainItems = training::loadFashionMnist(training::defaultFashionMnistDir(), true);
        const double wrongSplit = training::singleItemAccuracy(oracle(trainItems), testItems, size, images, seed, norm);
        QVERIFY2(wrongSplit < 0.17, qPrintable(QString("oracle of the other split: %1").arg(wrongSplit)));
    }

    void lossesAndScheduleAsComputedByHand()
    {
        // Confident and right: without smoothing the loss is log(1 + 9e^-10) ≈ 4.1e-4; smoothing
        // 0.1 spreads 0.01 of the target on each of the 9 other classes, each costing ≈ 10 nats.
        auto logits = torch::zeros({1, 10});
        logits[0][0] = 10.0f;
        const auto target = torch::tensor({std::int64_t(0)});
        const double plain = training::singleItemLoss(logits, target, 0.0).item<double>();
        const double smoothed = training::singleItemLoss(logits, target, 0.1).item<double>();
        const double ce0 = std::log(1 + 9 * std::exp(-10.0));
        QVERIFY(std::abs(plain - ce0) < 1e-5);
        QVERIFY2(std::abs(smoothed - (0.91 * ce0 + 0.01 * 9 * (10.0 + ce0))) < 1e-4, qPrintable(QString::number(smoothed)));
        // Multi-label: zero logits cost log 2 whatever the targets.
        const auto present = torch::tensor({1.0f, 0.0f, 1.0f}).view({1, 3});
        QVERIFY(std::abs(training::multiItemLoss(torch::zeros({1, 3}), present).item<double>() - std::log(2.0)) < 1e-6);

        QCOMPARE(training::pretrainLrFactor(0, 110, 10, "cosine"), 0.1);
        QCOMPARE(training::pretrainLrFactor(10, 110, 10, "cosine"), 1.0);
        QVERIFY(std::abs(training::pretrainLrFactor(60, 110, 10, "cosine") - 0.5) < 1e-12);
        QVERIFY(training::pretrainLrFactor(109, 110, 10, "cosine") < 1e-3);
        QVERIFY_THROWS_EXCEPTION(Error, training::pretrainLrFactor(0, 10, 1, "step"));
    }

    void augmentationKeepsOrMirrors()
    {
        cv::Mat rgb(32, 32, CV_8UC3);
        cv::randu(rgb, 0, 255);
        std::mt19937_64 rng(1);
        const cv::Mat same = training::augmentComposite(rgb, cv::Rect(), {}, rng);
        QCOMPARE(cv::norm(same, rgb, cv::NORM_INF), 0.0);
        QVERIFY(same.data != rgb.data);
        int flipped = 0;
        cv::Mat mirror;
        cv::flip(rgb, mirror, 1);
        for (int i = 0; i < 20; ++i) {
            const cv::Mat out = training::augmentComposite(rgb, cv::Rect(), {1.0, true, 0.0}, rng);
            const bool isMirror = cv::norm(out, mirror, cv::NORM_INF) == 0.0;
            QVERIFY(isMirror || cv::norm(out, rgb, cv::NORM_INF) == 0.0);
            flipped += isMirror;
        }
        QVERIFY(flipped > 0 && flipped < 20);
        // A crop keeps the marked box's centre: a lone white pixel there survives every crop.
        cv::Mat dot(32, 32, CV_8UC3, cv::Scalar(0, 0, 0));
        dot.at<cv::Vec3b>(20, 6) = cv::Vec3b(255, 255, 255);
        for (int i = 0; i < 20; ++i) {
            const cv::Mat out = training::augmentComposite(dot, cv::Rect(5, 19, 3, 3), {0.3, false, 0.0}, rng);
            double hi = 0;
            cv::minMaxLoc(out.reshape(1), nullptr, &hi);
            QVERIFY2(hi > 20, qPrintable(QString("crop %1 lost the box centre").arg(i)));
        }
    }

    void emaIsEvaluatedAndSaved()
    {
        // The same seed draws the same batches, so the EMA run's raw weights are the plain run's.
        auto o = tinyRun(path("raw.safetensors"));
        o.iters = 8;
        o.evalImages = 64;
        const auto raw = training::pretrain(o);
        o.out = path("ema.safetensors");
        o.emaDecay = 0.9;
        const auto withEma = training::pretrain(o);
        QCOMPARE(withEma.rawAccuracy, raw.accuracy);
        QCOMPARE(withEma.finalLoss, raw.finalLoss);
        const auto a = vision::readSafetensors(path("raw.safetensors")).tensors;
        const auto b = vision::readSafetensors(path("ema.safetensors")).tensors;
        int differ = 0;
        for (const auto &[name, t] : a)
            differ += !torch::allclose(t, b.at(name));
        QVERIFY2(differ > int(a.size()) / 2, qPrintable(QString("%1 of %2 tensors differ").arg(differ).arg(a.size())));
        QVERIFY(std::abs(std::stod(vision::readSafetensors(path("ema.safetensors")).metadata.at("accuracy")) -
                         withEma.accuracy) < 1e-4);
    }

    void everyOptionTogetherTrains()
    {
        // Smoothing raises the loss of the same batches; multi-item steps and augmentation run.
        auto o = tinyRun(path("all.safetensors"));
        o.iters = 6;
        o.size = 16;
        o.evalImages = 32;
        const double plain = training::pretrain(o).finalLoss;
        o.labelSmoothing = 0.3;
        const double smoothed = training::pretrain(o).finalLoss;
        QVERIFY2(smoothed != plain, qPrintable(QString("%1 vs %2").arg(smoothed).arg(plain)));
        o.schedule = "cosine";
        o.emaDecay = 0.99;
        o.multiFraction = 0.5;
        o.multiSize = 32;
        o.augment = {0.5, true, 0.3};
        const auto all = training::pretrain(o);
        QVERIFY(std::isfinite(all.finalLoss));
        QCOMPARE(vision::readSafetensors(path("all.safetensors")).metadata.at("pretrain").find("50 % of steps") !=
                     std::string::npos,
                 true);
    }

    // --precision bf16: the first step's loss is float32's to bfloat16's rounding (the forward ran
    // under autocast), and the run still learns and saves float32 tensors.
    void bf16StepsRunUnderAutocast()
    {
        auto o = tinyRun(path("bf16.safetensors"));
        o.iters = 1;
        o.evalImages = 16;
        double first32 = 0, first16 = 0;
        training::pretrain(o, [&](std::int64_t, std::int64_t, double loss) { first32 = loss; });
        o.precision = "bf16";
        training::pretrain(o, [&](std::int64_t, std::int64_t, double loss) { first16 = loss; });
        QVERIFY2(first16 != first32 && std::abs(first16 - first32) < 0.02 * first32,
                 qPrintable(QString("bf16 %1, fp32 %2").arg(first16).arg(first32)));
        for (const auto &[name, t] : vision::readSafetensors(path("bf16.safetensors")).tensors)
            QCOMPARE(t.scalar_type(), torch::kFloat);
        o.precision = "half";
        QVERIFY_THROWS_EXCEPTION(Error, training::pretrain(o));
    }

    // A pretraining stopped part-way (here: its progress callback throws, as a kill would end it)
    // goes on from OUT.resume with --resume and writes the file the uninterrupted run writes,
    // every option of the recipe on (multi-item steps, augmentation, EMA, cosine, smoothing). To
    // float32's last digits, as for `train --resume`: the evaluations between the steps leave the
    // allocator and the thread budget elsewhere, and a product may sum in another order.
    void anInterruptedRunResumesToTheSameWeights()
    {
        auto o = tinyRun(path("straight.safetensors"));
        o.iters = 7;
        o.size = 16;
        o.evalImages = 32;
        o.schedule = "cosine";
        o.labelSmoothing = 0.1;
        o.emaDecay = 0.9;
        o.multiFraction = 0.5;
        o.multiSize = 32;
        o.augment = {0.6, true, 0.2};
        o.saveEvery = 2;
        o.evalEvery = 2;
        o.seed = 4;
        const auto straight = training::pretrain(o);
        QVERIFY(!QFile::exists(QString::fromStdString(training::pretrainStatePath(o.out).string())));

        struct Killed {};
        const auto out = path("interrupted.safetensors");
        o.out = out;
        try {
            training::pretrain(o, [](std::int64_t step, std::int64_t, double) {
                if (step == 5)
                    throw Killed{};
            });
            QFAIL("the run was not stopped");
        } catch (const Killed &) {
        }
        const auto state = training::pretrainStatePath(out);
        QVERIFY(QFile::exists(QString::fromStdString(state.string())));
        QVERIFY(!QFile::exists(QString::fromStdString(out)));
        QCOMPARE(training::peekPretrainState(out).step, std::int64_t(4)); // the last save before the stop

        // A fresh run would throw the steps away: refused, naming the state.
        try {
            training::pretrain(o);
            QFAIL("a fresh run overwrote an interrupted one");
        } catch (const Error &e) {
            QVERIFY2(std::string(e.what()).find(state.string()) != std::string::npos, e.what());
        }

        // Resumed with only the output named (as `wsss pretrain --resume --out F`).
        training::PretrainOptions sitting;
        sitting.out = out;
        sitting.device = "cpu";
        sitting.resume = true;
        std::vector<std::int64_t> steps;
        const auto resumed =
            training::pretrain(sitting, [&](std::int64_t step, std::int64_t, double) { steps.push_back(step); });
        QCOMPARE(steps.front(), std::int64_t(5));
        QCOMPARE(steps.back(), std::int64_t(7));
        QCOMPARE(resumed.resumedAt, std::int64_t(4));
        const auto near = [](double x, double y) { return std::abs(x - y) <= 1e-5 * std::max(1.0, std::abs(y)); };
        QVERIFY2(near(resumed.finalLoss, straight.finalLoss),
                 qPrintable(QString("%1 vs %2").arg(resumed.finalLoss).arg(straight.finalLoss)));
        QVERIFY(std::abs(resumed.accuracy - straight.accuracy) <= 1.0 / o.evalImages);
        const auto a = vision::readSafetensors(path("straight.safetensors")).tensors;
        const auto b = vision::readSafetensors(out).tensors;
        QCOMPARE(a.size(), b.size());
        for (const auto &[name, t] : a)
            QVERIFY2(torch::allclose(t, b.at(name), 1e-5, 1e-6), name.c_str());
        QVERIFY(!QFile::exists(QString::fromStdString(state.string()))); // done: nothing left to resume

        // The accuracy curves: steps 2, 4, 6 and the end, the same figures in both runs (the
        // interrupted run's lines after its last save were dropped, not repeated).
        const auto curve = [](const std::string &out) {
            std::vector<nlohmann::json> lines;
            std::ifstream in(out + ".curve.jsonl");
            for (std::string line; std::getline(in, line);)
                lines.push_back(nlohmann::json::parse(line));
            return lines;
        };
        const auto a0 = curve(path("straight.safetensors")), b0 = curve(out);
        QCOMPARE(int(a0.size()), 4);
        QCOMPARE(int(b0.size()), 4);
        for (int i = 0; i < 4; ++i) {
            QCOMPARE(a0[i].at("step").get<int>(), i < 3 ? 2 * (i + 1) : 7);
            QCOMPARE(b0[i].at("step").get<int>(), a0[i].at("step").get<int>());
            QVERIFY(near(b0[i].at("loss").get<double>(), a0[i].at("loss").get<double>()));
            for (const char *key : {"accuracy", "raw_accuracy"})
                QVERIFY(std::abs(b0[i].at(key).get<double>() - a0[i].at(key).get<double>()) <= 1.0 / o.evalImages);
            QVERIFY(a0[i].at("accuracy").get<double>() >= 0 && a0[i].at("accuracy").get<double>() <= 1);
        }
        QCOMPARE(a0.back().at("accuracy").get<double>(), straight.accuracy);
        QCOMPARE(b0.back().at("accuracy").get<double>(), resumed.accuracy);

        // Nothing to resume: named.
        try {
            training::pretrain(sitting);
            QFAIL("--resume without a state was accepted");
        } catch (const Error &e) {
            QVERIFY2(std::string(e.what()).find(state.string()) != std::string::npos, e.what());
        }
        // A state that is not one (a torn copy, another file): named, and the output untouched.
        std::ofstream(state) << "not a pretraining state";
        const auto before = vision::readSafetensors(out).tensors;
        try {
            training::pretrain(sitting);
            QFAIL("a corrupt state was accepted");
        } catch (const Error &e) {
            QVERIFY2(std::string(e.what()).find(state.string()) != std::string::npos, e.what());
        }
        for (const auto &[name, t] : vision::readSafetensors(out).tensors)
            QVERIFY2(torch::equal(t, before.at(name)), name.c_str());
    }

    void aBadWeightsFileIsNamed()
    {
        const auto bad = path("not_weights.safetensors");
        std::ofstream(bad) << "this is not a safetensors file";
        auto o = tinyRun(path("never.safetensors"));
        o.weights = bad;
        try {
            training::pretrain(o);
            QFAIL("a corrupt --weights file was accepted");
        } catch (const Error &e) {
            QVERIFY2(std::string(e.what()).find(bad) != std::string::npos, e.what());
        }
        QVERIFY(!QFile::exists(QString::fromStdString(o.out)));
    }
};

QTEST_GUILESS_MAIN(TestPretrain)
#include "test_pretrain.moc"
