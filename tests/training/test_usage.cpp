// The `usage` method: the spatial activation distribution α, L_REG by hand, the EMA teacher (its
// update and that it gets no gradient), the adaptive drop rates, a few optimiser steps on a fixed
// batch, infer()'s seed maps, and a tiny training run through the trainer, the checkpoint and
// inference.
#include "support/tensor_compare.h"
#include "support/tiny_demo_run.h"
#include "training/checkpoint/checkpoint.h"
#include "training/data/demo_generator.h"
#include "training/loop/trainer.h"
#include "training/methods/inference.h"
#include "training/methods/method_registry.h"
#include "training/methods/usage/usage_losses.h"
#include "training/methods/usage/usage_method.h"
#include "vision/core/error.h"
#include "vision/io/image_io.h"
#include "vision/io/voc_reader.h"
#include "vision/maps/spatial_distribution.h"

#include <QTemporaryDir>
#include <QtTest>

#include <torch/torch.h>

#include <cmath>
#include <set>

using namespace wsss;
using namespace wsss::training;

namespace {

constexpr int kClasses = 3;

std::shared_ptr<UsageMethod> makeMethod(nlohmann::json config = nlohmann::json::object())
{
    MethodSpec spec;
    spec.method = "usage";
    spec.backbone = "vit_test_patch8"; // width 32, depth 2, patch 8
    spec.numClasses = kClasses;
    spec.config = config;
    return std::dynamic_pointer_cast<UsageMethod>(createMethod(spec));
}

Batch fixedBatch()
{
    Batch b;
    b.images = torch::randn({4, 3, 32, 32});
    b.labels = torch::tensor({1.f, 0.f, 0.f, 0.f, 1.f, 1.f, 1.f, 0.f, 1.f, 0.f, 0.f, 1.f}).view({4, 3});
    return b;
}

} // namespace

class TestUsage : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;

private Q_SLOTS:
    void init() { torch::manual_seed(0); }

    void configRoundTripAndValidation()
    {
        const auto c = UsageConfig::fromJson({});
        QCOMPARE(c.tau1, 1.0);
        QCOMPARE(c.tau2, 0.1);
        QCOMPARE(c.lambda, 0.25);
        QCOMPARE(c.emaMomentum, 0.99);
        QCOMPARE(c.teacherDropPath, 0.05);
        QCOMPARE(UsageConfig::fromJson(c.toJson()).toJson(), c.toJson());
        QVERIFY_THROWS_EXCEPTION(Error, UsageConfig::fromJson({{"nope", 1}}));
        QVERIFY_THROWS_EXCEPTION(Error, UsageConfig::fromJson({{"schedule", "cosine"}}));
        QVERIFY_THROWS_EXCEPTION(Error, UsageConfig::fromJson({{"student_drop_path_max", 1.0}}));
        QVERIFY_THROWS_EXCEPTION(Error, UsageConfig::fromJson({{"tau2", 0.0}}));
        QVERIFY_THROWS_EXCEPTION(Error, UsageConfig::fromJson({{"student_drop_path_min", 0.2}}));
    }

    void alphaSumsToOnePerPatch()
    {
        auto m = makeMethod();
        m->eval();
        torch::NoGradGuard noGrad;
        const auto z = m->activations(torch::randn({2, 3, 32, 24}), false); // [2, K, 4, 3]
        QCOMPARE(z.sizes().vec(), (std::vector<std::int64_t>{2, kClasses, 4, 3}));
        for (double kappa : {0.0, 1.5}) {
            const auto alpha = vision::classDistribution(z, 1.0, kappa);
            QCOMPARE(alpha.size(1), static_cast<std::int64_t>(kClasses + 1));
            QVERIFY(torch::allclose(alpha.sum(1), torch::ones({2, 4, 3}), 1e-6, 1e-6));
            QVERIFY(alpha.min().item<float>() >= 0);
        }
        // The pooling weights of every (image, class) sum to 1 over the patches.
        const auto w = vision::temperaturePoolingWeights(z, 1.0);
        QVERIFY(torch::allclose(w.flatten(2).sum(2), torch::ones({2, kClasses}), 1e-6, 1e-6));
    }

    void regularizationLossByHand()
    {
        // K = 1, two locations, κ = 0, τ₂ = 0.5.
        const auto student = torch::tensor({0.f, 1.f}).view({1, 1, 1, 2});
        const auto teacher = torch::tensor({1.f, -1.f}).view({1, 1, 1, 2});
        const double e2 = std::exp(2.0), em2 = std::exp(-2.0);
        // Location 1: p̃ = softmax([0, 2]), log p = log softmax([0, 0]) → CE = ln 2.
        // Location 2: p̃ = softmax([0, −2]), log p = log softmax([0, 2]) → CE = ln(1 + e²) − 2·p̃₁.
        const double ce1 = std::log(2.0);
        const double ce2 = std::log(1 + e2) - 2 * em2 / (1 + em2);
        const double expected = 0.25 * (ce1 + ce2) / 2;
        const auto loss = usageRegularizationLoss(student, teacher, 0.5);
        QVERIFY2(std::abs(loss.item<double>() - expected) < 1e-6,
                 (std::to_string(loss.item<double>()) + " vs " + std::to_string(expected)).c_str());
        // Literal form, location 1: α̃ = softmax([0, 1]), α = (½, ½): τ²·Σ α̃^{1/τ}·(1/τ)·ln 2.
        {
            const auto s1 = torch::zeros({1, 1, 1, 1}), t1 = torch::ones({1, 1, 1, 1});
            const double a0 = 1 / (1 + std::exp(1.0)), a1 = 1 - a0;
            const double lit = 0.25 * (a0 * a0 + a1 * a1) * 2 * std::log(2.0);
            QVERIFY(std::abs(usageRegularizationLoss(s1, t1, 0.5, 0.0, "literal").item<double>() - lit) < 1e-6);
        }
        // Equal student and teacher at τ₂ → the loss is τ₂² times the entropy; the gradient is
        // τ₂·(p − p̃)/N on the student logits and nothing on the teacher's.
        auto s = student.clone().requires_grad_(true);
        auto t = teacher.clone().requires_grad_(true);
        usageRegularizationLoss(s, t, 0.5).backward();
        QVERIFY(!t.grad().defined() || t.grad().abs().sum().item<float>() == 0);
        const auto zs = vision::withConstantBackground(student) / 0.5, zt = vision::withConstantBackground(teacher) / 0.5;
        const auto g = (0.5 * (torch::softmax(zs, 1) - torch::softmax(zt, 1)) / 2).slice(1, 1);
        QVERIFY(torch::allclose(s.grad(), g, 1e-5, 1e-6));
    }

    void emaTeacherAndNoGradient()
    {
        auto m = makeMethod();
        QVERIFY(!m->teacherReady());
        m->updateTeacher(); // first call: a copy
        QVERIFY(m->teacherReady());
        for (const auto &p : m->backbone().named_parameters(true))
            QVERIFY(torch::equal(p.value(), m->teacherBackbone().named_parameters(true)[p.key()]));
        {
            torch::NoGradGuard noGrad;
            for (auto &p : m->backbone().parameters(true))
                p.add_(torch::randn_like(p));
            for (auto &p : m->classifier()->parameters(true))
                p.add_(torch::randn_like(p));
        }
        const auto t0 = wsss::test::parameterSnapshot(m->teacherBackbone()), s = wsss::test::parameterSnapshot(m->backbone());
        const auto c0 = m->teacherClassifier()->weight.detach().clone();
        const auto cs = m->classifier()->weight.detach().clone();
        m->updateTeacher();
        for (const auto &p : m->teacherBackbone().named_parameters(true)) {
            const auto expected = t0.at(p.key()) + 0.01 * (s.at(p.key()) - t0.at(p.key()));
            QVERIFY2(torch::allclose(p.value(), expected, 1e-6, 1e-6), p.key().c_str());
        }
        QVERIFY(torch::allclose(m->teacherClassifier()->weight, c0 + 0.01 * (cs - c0), 1e-6, 1e-6));

        // No gradient reaches the teacher, and the optimiser never holds it.
        m->train();
        auto r = m->trainStep(fixedBatch());
        QVERIFY(r.losses.count("gen") && r.losses.count("reg"));
        r.total().backward();
        for (const auto &p : m->named_parameters(true)) {
            const bool isTeacher = p.key().rfind("teacher_", 0) == 0;
            if (isTeacher) {
                QVERIFY2(!p.value().requires_grad(), p.key().c_str());
                QVERIFY2(!p.value().grad().defined(), p.key().c_str());
            }
        }
        QVERIFY(m->classifier()->weight.grad().defined());
        std::set<const void *> teacherPtrs;
        for (const auto &p : m->named_parameters(true))
            if (p.key().rfind("teacher_", 0) == 0)
                teacherPtrs.insert(p.value().data_ptr());
        std::size_t held = 0;
        for (const auto &g : m->parameterGroups(m->recipe()))
            for (const auto &p : g.params()) {
                QVERIFY(!teacherPtrs.count(p.data_ptr()));
                ++held;
            }
        QCOMPARE(held, m->backbone().parameters(true).size() + m->classifier()->parameters(true).size());
    }

    void adaptiveRatesStayInBoundsAndGrow()
    {
        const auto c = UsageConfig::fromJson({});
        double lastPath = -1, lastDrop = -1;
        for (double e : {-0.5, 0.0, 0.1, 0.3, 0.6, 0.9, 1.0, 1.7}) {
            const auto rates = c.studentRates(c.progress(e, 0, 10));
            QVERIFY(rates.path >= 0.05 - 1e-12 && rates.path <= 0.15 + 1e-12);
            QVERIFY(rates.dropout >= 0 && rates.dropout <= 0.01 + 1e-12);
            QVERIFY(rates.path >= lastPath && rates.dropout >= lastDrop);
            lastPath = rates.path, lastDrop = rates.dropout;
        }
        QVERIFY(std::abs(c.studentRates(0).path - 0.05) < 1e-12 && c.studentRates(0).dropout == 0);
        QVERIFY(std::abs(c.studentRates(1).path - 0.15) < 1e-12 && std::abs(c.studentRates(1).dropout - 0.01) < 1e-12);
        QVERIFY(std::abs(c.studentRates(0.5).path - 0.10) < 1e-12);
        QCOMPARE(c.teacherRates().path, 0.05);
        QCOMPARE(c.teacherRates().dropout, 0.0);
        // The other schedules.
        QCOMPARE(UsageConfig::fromJson({{"schedule", "fixed"}}).progress(0.0, 0, 10), 1.0);
        QCOMPARE(UsageConfig::fromJson({{"schedule", "linear"}}).progress(0.9, 5, 10), 0.5);

        // In training: e_0 = 1/K, each step e ← m·e + (1 − m)·c with c ∈ (0, 1), and the logged
        // student rates follow the status before the step.
        auto m = makeMethod({{"status_momentum", 0.5}});
        m->train();
        QVERIFY(std::abs(m->status() - 1.0 / kClasses) < 1e-6);
        const auto batch = fixedBatch();
        for (int i = 0; i < 3; ++i) {
            const double before = m->status();
            const auto r = m->trainStep(batch);
            const auto expected = m->settings().studentRates(before);
            QVERIFY(std::abs(r.logs.at("drop_path") - expected.path) < 1e-6);
            QVERIFY(std::abs(r.logs.at("dropout") - expected.dropout) < 1e-6);
            const double c = (m->status() - 0.5 * before) / 0.5;
            QVERIFY(c > 0 && c < 1);
        }
        // A confident classifier (status high) gives the wider gap.
        auto hi = UsageConfig::fromJson({});
        QVERIFY(hi.studentRates(hi.progress(0.9, 0, 1)).path > hi.studentRates(hi.progress(1.0 / kClasses, 0, 1)).path);
    }

    void fewStepsReduceTheLoss()
    {
        auto m = makeMethod();
        m->train();
        const auto batch = fixedBatch();
        auto recipe = m->recipe();
        torch::optim::AdamW opt(m->parameterGroups(recipe), torch::optim::AdamWOptions(recipe.lr));
        std::vector<double> losses;
        for (int i = 0; i < 60; ++i) {
            auto r = m->trainStep(batch);
            auto loss = r.total();
            losses.push_back(loss.item<double>());
            opt.zero_grad();
            loss.backward();
            opt.step();
        }
        const double first = (losses[0] + losses[1]) / 2, last = (losses[58] + losses[59]) / 2;
        QVERIFY2(last < first * 0.9, (std::to_string(first) + " → " + std::to_string(last)).c_str());
    }

    void inferSeedMaps()
    {
        auto m = makeMethod();
        m->eval();
        torch::NoGradGuard noGrad;
        const auto image = torch::randn({1, 3, 40, 32});
        const auto labels = torch::tensor({1.f, 0.f, 1.f});
        const auto out = m->infer(image, true, labels);
        for (const char *kind : {"usage", "usage_affinity"}) {
            const auto &maps = out.maps.at(kind);
            QCOMPARE(maps.sizes().vec(), (std::vector<std::int64_t>{kClasses, 40, 32}));
            QVERIFY(maps.min().item<float>() >= 0 && maps.max().item<float>() <= 1 + 1e-6);
            QCOMPARE(maps[1].abs().max().item<float>(), 0.f); // absent class
        }
        // α with its background: a distribution over [κ; classes] at every pixel.
        const auto alphaSum = out.maps.at("usage_alpha").sum(0) + out.backgrounds.at("usage_alpha");
        QVERIFY(torch::allclose(alphaSum, torch::ones_like(alphaSum), 1e-5, 1e-5));
        QCOMPARE(out.scores.size(0), static_cast<std::int64_t>(kClasses));
        QCOMPARE(out.gridHeight, std::int64_t{5});
        QCOMPARE(out.gridWidth, std::int64_t{4});
        QCOMPARE(static_cast<int>(out.attention.size()), m->backboneInfo().depth);
        QCOMPARE(out.affinities.at("patch_attention").sizes().vec(), (std::vector<std::int64_t>{20, 20}));
        // Every attention row sums to ≤ 1 over the patches; R sums `depth` of them.
        QVERIFY(out.affinities.at("patch_attention").sum(1).max().item<float>() <= m->backboneInfo().depth + 1e-4);
        // Without capture, the same maps.
        const auto plain = m->infer(image, false, labels);
        QVERIFY(torch::allclose(plain.maps.at("usage_affinity"), out.maps.at("usage_affinity"), 1e-5, 1e-6));
        QVERIFY(plain.attention.empty());
        // The seeds alone (`wsss infer`'s default map): the same maps, without the patch affinity.
        const auto seeds = m->inferMaps(image, labels, {"usage"});
        WSSS_VERIFY_CLOSE(seeds.maps.at("usage"), plain.maps.at("usage"), 0.0);
        QVERIFY(!seeds.maps.count("usage_affinity") && seeds.affinities.empty());
        WSSS_VERIFY_CLOSE(m->inferMaps(image, labels, {"usage_affinity"}).maps.at("usage_affinity"),
                          plain.maps.at("usage_affinity"), 0.0);
    }

    void camNormalizationKeepsANegativeClass()
    {
        // Class 0 scores far below 0 at every patch (its bias −1000): MCTformer's ReLU leaves an
        // empty map, min_max (the default) the class's relative evidence.
        torch::NoGradGuard noGrad;
        const nlohmann::json common{{"classifier", "conv3x3"}, {"seed_weights", "student"}, {"flip_inference", false}};
        auto official = common;
        official["cam_normalization"] = "relu_min_max";
        auto relu = makeMethod(official);
        auto ours = makeMethod(common);
        QCOMPARE(ours->config().at("cam_normalization").get<std::string>(), std::string("min_max"));
        auto params = relu->named_parameters();
        params["classifier.bias"][0].fill_(-1000.0);
        wsss::test::copyParameters(*relu, *ours);
        relu->eval();
        ours->eval();
        const auto image = torch::randn({1, 3, 32, 32});
        const auto labels = torch::tensor({1.f, 0.f, 1.f});
        QCOMPARE(relu->infer(image, false, labels).maps.at("usage")[0].max().item<float>(), 0.f);
        const auto kept = ours->infer(image, false, labels).maps.at("usage")[0];
        QVERIFY(std::abs(kept.max().item<float>() - 1.f) < 1e-4);
        QVERIFY(kept.min().item<float>() < 1e-4);
        QVERIFY_THROWS_EXCEPTION(Error, makeMethod({{"cam_normalization", "max"}}));
    }

    void tinyTrainingRunAndCheckpoint()
    {
        QVERIFY(m_dir.isValid());
        const std::string data = wsss::test::makeTinyDemoData(m_dir.filePath("data").toStdString(), 8, 3);
        TrainOptions o = wsss::test::tinyRunOptions("usage", data, m_dir.filePath("run").toStdString(), 4, 4);
        std::vector<StepLog> logs;
        TrainCallbacks cb;
        cb.onStep = [&](const StepLog &log) { logs.push_back(log); };
        const auto result = train(o, cb);
        QCOMPARE(static_cast<int>(logs.size()), 4);
        for (const auto &log : logs)
            for (const char *name : {"gen", "reg", "total"})
                QVERIFY2(std::isfinite(log.losses.at(name)), name);

        auto loaded = loadCheckpoint(result.checkpointPath);
        QCOMPARE(loaded.header.method, std::string("usage"));
        auto *usage = dynamic_cast<UsageMethod *>(loaded.method.get());
        QVERIFY(usage);
        QVERIFY(usage->teacherReady());
        for (const auto &p : usage->named_parameters(true))
            if (p.key().rfind("teacher_", 0) == 0)
                QVERIFY2(!p.value().requires_grad(), p.key().c_str());
        const auto copy = m_dir.filePath("copy.wsss").toStdString();
        saveCheckpoint(copy, loaded.header, *loaded.method);
        auto again = loadCheckpoint(copy);
        QCOMPARE(wsss::test::firstDifferentTensor(*loaded.method, *again.method), std::string());
        const auto val = vision::loadVocDataset(data, "val");
        const cv::Mat rgb = vision::readImageRgb(val.items.front().imagePath);
        const auto outA = inferImage(loaded, rgb, false, torch::kCPU, val.items.front().labels);
        const auto outB = inferImage(again, rgb, false, torch::kCPU, val.items.front().labels);
        QVERIFY(torch::equal(outA.maps.at("usage"), outB.maps.at("usage")));
        QVERIFY(torch::equal(outA.maps.at("usage_affinity"), outB.maps.at("usage_affinity")));
        QCOMPARE(outA.maps.at("usage").size(0), static_cast<std::int64_t>(loaded.header.labelMap.foregroundCount()));
    }
};

QTEST_APPLESS_MAIN(TestUsage)
#include "test_usage.moc"
