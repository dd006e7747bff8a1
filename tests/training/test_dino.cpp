// The `dino` method: its config, the loss and the centre by hand, the EMA teacher (exact update,
// no gradient, out of the optimiser), the multi-crop views, infer()'s CLS-attention maps, a
// student that learns fixed targets, and a run through the trainer whose checkpoint reloads
// identically.
#include "support/tensor_compare.h"
#include "support/tiny_demo_run.h"
#include "training/checkpoint/checkpoint.h"
#include "training/loop/trainer.h"
#include "training/methods/dino/dino_losses.h"
#include "training/methods/dino/dino_method.h"
#include "training/methods/inference.h"
#include "training/methods/method_registry.h"
#include "vision/core/error.h"
#include "vision/io/image_io.h"
#include "vision/io/voc_reader.h"
#include "vision/maps/cam.h"

#include <QTemporaryDir>
#include <QtTest>

#include <torch/optim/adamw.h>
#include <torch/types.h>
#include <torch/utils.h>

#include <cmath>
#include <set>

using namespace wsss;
using namespace wsss::training;

namespace {

constexpr int kClasses = 3;

std::shared_ptr<DinoMethod> makeMethod(nlohmann::json config = nlohmann::json::object())
{
    MethodSpec spec;
    spec.method = "dino";
    spec.backbone = "vit_test_patch8"; // width 32, depth 2, patch 8
    spec.numClasses = kClasses;
    if (!config.contains("out_dim"))
        config["out_dim"] = 64; // small heads: the tests are about the mechanics
    if (!config.contains("hidden_dim"))
        config["hidden_dim"] = 32;
    if (!config.contains("bottleneck_dim"))
        config["bottleneck_dim"] = 16;
    spec.config = config;
    return std::dynamic_pointer_cast<DinoMethod>(createMethod(spec));
}

Batch fixedBatch(std::int64_t step = 0, std::int64_t total = 10)
{
    Batch b;
    b.images = torch::randn({4, 3, 32, 32}).clamp(-2, 2);
    b.labels = torch::zeros({4, kClasses});
    b.step = step;
    b.totalSteps = total;
    return b;
}

bool isTeacherKey(const std::string &key)
{
    return key.rfind("backbone.", 0) == 0 || key.rfind("teacher_head.", 0) == 0;
}

double softmaxAt(const std::vector<double> &z, std::size_t k)
{
    double sum = 0;
    for (double v : z)
        sum += std::exp(v);
    return std::exp(z[k]) / sum;
}

} // namespace

class TestDino : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;

private Q_SLOTS:
    void init() { torch::manual_seed(0); }

    void configDefaultsRoundTripAndValidation()
    {
        const auto c = DinoConfig::fromJson({});
        QCOMPARE(c.teacherTemp, 0.04);
        QCOMPARE(c.studentTemp, 0.1);
        QCOMPARE(c.centerMomentum, 0.9);
        QCOMPARE(c.momentumTeacher, 0.996);
        QCOMPARE(c.bottleneckDim, 256);
        QVERIFY(c.normLastLayer);
        QCOMPARE(DinoConfig::fromJson(c.toJson()).toJson(), c.toJson());
        const auto paper = DinoConfig::fromJson({{"preset", "paper"}});
        QCOMPARE(paper.outDim, 65536);
        QCOMPARE(paper.hiddenDim, 2048);
        QCOMPARE(paper.localCrops, 8);
        QCOMPARE(DinoConfig::fromJson({{"preset", "paper"}, {"local_crops", 2}}).localCrops, 2);
        WSSS_VERIFY_THROWS_WITH(DinoConfig::fromJson({{"nope", 1}}), "unknown config key \"nope\"");
        WSSS_VERIFY_THROWS_WITH(DinoConfig::fromJson({{"student_temp", 0.0}}), "student_temp");
        WSSS_VERIFY_THROWS_WITH(DinoConfig::fromJson({{"center_momentum", 1.0}}), "center_momentum");
        WSSS_VERIFY_THROWS_WITH(DinoConfig::fromJson({{"out_dim", 1}}), "out_dim");
        WSSS_VERIFY_THROWS_WITH(DinoConfig::fromJson({{"local_scale_min", 0.5}}), "local_scale_min");
        WSSS_VERIFY_THROWS_WITH(DinoConfig::fromJson({{"preset", "fast"}}), "preset");
        // Schedules: EMA momentum cosine 0.996 → 1, local crops 96/224 of the side in whole patches.
        QCOMPARE(c.momentumAt(0, 100), 0.996);
        QVERIFY(std::abs(c.momentumAt(50, 100) - 0.998) < 1e-12);
        QCOMPARE(c.momentumAt(100, 100), 1.0);
        QCOMPARE(c.localSize(64, 8), std::int64_t{24});
        QCOMPARE(c.localSize(224, 16), std::int64_t{96});
        QCOMPARE(c.localSize(16, 8), std::int64_t{8});
        const auto warm = DinoConfig::fromJson({{"warmup_teacher_temp", 0.02}, {"warmup_teacher_temp_fraction", 0.5}});
        QVERIFY(std::abs(warm.teacherTempAt(0, 100) - 0.02) < 1e-12);
        QVERIFY(std::abs(warm.teacherTempAt(25, 100) - 0.03) < 1e-12);
        QCOMPARE(warm.teacherTempAt(60, 100), 0.04);
        // A MiT has no class token for DINO to train.
        MethodSpec mit{"dino", "mit_b0", kClasses, nlohmann::json::object()};
        WSSS_VERIFY_THROWS_WITH(createMethod(mit), "dino: needs a ViT backbone");
    }

    void lossByHand()
    {
        // B = 1, K = 3, V = 2 views: the terms (teacher 0, student 1) and (teacher 1, student 0).
        const std::vector<double> s0{1.0, 0.0, -1.0}, s1{0.5, 2.0, 0.0}, t0{0.2, 0.1, 0.0}, t1{0.0, 0.3, 0.1};
        const std::vector<double> c{0.1, 0.0, 0.05};
        const double ts = 0.1, tt = 0.04;
        auto scaled = [](const std::vector<double> &v, const std::vector<double> &shift, double t) {
            std::vector<double> out;
            for (std::size_t k = 0; k < v.size(); ++k)
                out.push_back((v[k] - shift[k]) / t);
            return out;
        };
        const std::vector<double> zero(3, 0.0);
        auto ce = [&](const std::vector<double> &t, const std::vector<double> &s) {
            double sum = 0;
            for (std::size_t k = 0; k < 3; ++k)
                sum -= softmaxAt(scaled(t, c, tt), k) * std::log(softmaxAt(scaled(s, zero, ts), k));
            return sum;
        };
        const double expected = (ce(t0, s1) + ce(t1, s0)) / 2;
        auto rows = [](std::initializer_list<std::vector<double>> r) {
            std::vector<float> flat;
            for (const auto &v : r)
                flat.insert(flat.end(), v.begin(), v.end());
            return torch::tensor(flat).view({static_cast<std::int64_t>(r.size()), 3});
        };
        auto student = rows({s0, s1}).requires_grad_(true);
        auto teacher = rows({t0, t1}).requires_grad_(true);
        const auto center = rows({c});
        const auto loss = dinoLoss(student, teacher, center, 2, ts, tt);
        QVERIFY2(std::abs(loss.item<double>() - expected) < 1e-5,
                 (std::to_string(loss.item<double>()) + " vs " + std::to_string(expected)).c_str());
        // The teacher is a target only.
        loss.backward();
        QVERIFY(student.grad().defined() && student.grad().abs().sum().item<float>() > 0);
        QVERIFY(!teacher.grad().defined() || teacher.grad().abs().sum().item<float>() == 0);

        // With a third (local) view: 2·3 − 2 = 4 terms, the local one compared with both teachers.
        const std::vector<double> s2{0.0, 0.0, 3.0};
        const double expected3 = (ce(t0, s1) + ce(t0, s2) + ce(t1, s0) + ce(t1, s2)) / 4;
        const auto loss3 = dinoLoss(rows({s0, s1, s2}), rows({t0, t1}), center, 3, ts, tt);
        QVERIFY(std::abs(loss3.item<double>() - expected3) < 1e-5);
        WSSS_VERIFY_THROWS_WITH(dinoLoss(rows({s0, s1, s2}), rows({t0, t1}), center, 2, ts, tt), "V >= 2");
    }

    void centerUpdate()
    {
        const auto c = torch::tensor({1.f, 2.f, 3.f}).view({1, 3});
        const auto t = torch::tensor({1.f, 0.f, 0.f, 3.f, 0.f, 2.f}).view({2, 3});
        WSSS_VERIFY_CLOSE(updatedCenter(c, t, 0.9), torch::tensor({1.1f, 1.8f, 2.8f}).view({1, 3}), 1e-6);

        // In a step: c ← 0.9·c + 0.1·mean of the teacher's outputs on the step's two global views.
        auto m = makeMethod();
        m->train();
        m->updateTeacher(0, 10); // the copy; the step's EMA then moves nothing (teacher = student)
        const auto batch = fixedBatch();
        torch::manual_seed(7);
        const auto info = m->backboneInfo();
        const auto views = dinoViews(batch.images, info.norm, m->settings(), info.inputMultiple);
        torch::Tensor teacherOut;
        {
            torch::NoGradGuard noGrad;
            teacherOut = m->project(torch::cat({views[0], views[1]}), true);
        }
        const auto before = m->center().clone();
        QCOMPARE(before.abs().sum().item<float>(), 0.f);
        torch::manual_seed(7);
        m->trainStep(batch);
        WSSS_VERIFY_CLOSE(m->center(), 0.1 * teacherOut.mean(0, true), 1e-6);
    }

    void emaTeacherUpdate()
    {
        auto m = makeMethod();
        QVERIFY(!m->teacherReady());
        m->updateTeacher(0, 10); // first call: the student becomes the teacher's copy
        QVERIFY(m->teacherReady());
        QCOMPARE(test::firstDifferentTensor(m->student(), m->backbone()), std::string());
        QCOMPARE(test::firstDifferentTensor(*m->studentHead(), *m->teacherHead()), std::string());
        {
            torch::NoGradGuard noGrad;
            for (auto &p : m->student().parameters(true))
                p.add_(torch::randn_like(p));
            for (auto &p : m->studentHead()->parameters(true))
                p.add_(torch::randn_like(p));
        }
        std::map<std::string, torch::Tensor> teacher, student;
        for (const auto &p : m->named_parameters(true))
            (isTeacherKey(p.key()) ? teacher : student)[p.key()] = p.value().detach().clone();
        const double mom = 0.9;
        m->emaUpdate(mom);
        int checked = 0;
        for (const auto &p : m->named_parameters(true)) {
            if (!isTeacherKey(p.key()))
                continue;
            const std::string studentKey = p.key().rfind("backbone.", 0) == 0
                                               ? "student." + p.key().substr(9)
                                               : "student_head." + p.key().substr(13);
            const auto expected = mom * teacher.at(p.key()) + (1 - mom) * student.at(studentKey);
            QVERIFY2(torch::allclose(p.value(), expected, 1e-6, 1e-6), p.key().c_str());
            ++checked;
        }
        QCOMPARE(static_cast<std::size_t>(checked), teacher.size());
        // In a step: the update of the previous step at its cosine momentum.
        for (const auto &p : m->named_parameters(true))
            if (isTeacherKey(p.key()))
                teacher[p.key()] = p.value().detach().clone();
        m->train();
        m->trainStep(fixedBatch(5, 10));
        const double m4 = m->settings().momentumAt(4, 10);
        const torch::Tensor qkv = m->named_parameters(true)["backbone.blocks.0.attn.qkv.weight"];
        const auto expected = m4 * teacher.at("backbone.blocks.0.attn.qkv.weight") +
                              (1 - m4) * m->named_parameters(true)["student.blocks.0.attn.qkv.weight"];
        QVERIFY(torch::allclose(qkv, expected, 1e-6, 1e-6));
    }

    void teacherGetsNoGradient()
    {
        auto m = makeMethod();
        m->train();
        auto r = m->trainStep(fixedBatch(1, 10)); // step 0 of 10 would freeze the last layer
        QVERIFY(r.losses.count("dino"));
        QVERIFY(std::isfinite(r.total().item<double>()));
        for (const char *log : {"teacher_entropy", "batch_entropy", "teacher_temp", "teacher_momentum"})
            QVERIFY2(r.logs.count(log), log);
        r.total().backward();
        std::set<const void *> studentPtrs;
        std::size_t trainable = 0;
        for (const auto &p : m->named_parameters(true)) {
            if (isTeacherKey(p.key())) {
                QVERIFY2(!p.value().requires_grad(), p.key().c_str());
                QVERIFY2(!p.value().grad().defined(), p.key().c_str());
            } else if (p.value().requires_grad()) {
                studentPtrs.insert(p.value().data_ptr());
                ++trainable;
            }
        }
        // weight_g stays 1 (norm_last_layer): not trained.
        QVERIFY(!m->named_parameters(true)["student_head.last_layer.weight_g"].requires_grad());
        for (const char *key : {"student.blocks.1.attn.qkv.weight", "student.cls_token", "student_head.mlp.0.weight",
                                "student_head.last_layer.weight_v"}) {
            const torch::Tensor g = m->named_parameters(true)[key].grad();
            QVERIFY2(g.defined() && g.abs().sum().item<float>() > 0, key);
        }
        // The optimiser holds exactly the student's trainable parameters.
        std::size_t held = 0;
        for (const auto &g : m->parameterGroups(m->recipe()))
            for (const auto &p : g.params()) {
                QVERIFY(studentPtrs.count(p.data_ptr()));
                ++held;
            }
        QCOMPARE(held, trainable);

        // While the last layer is frozen it gets no gradient; the rest of the student does.
        auto frozen = makeMethod({{"freeze_last_layer_fraction", 0.5}});
        frozen->train();
        frozen->trainStep(fixedBatch(2, 10)).total().backward();
        QVERIFY(!frozen->named_parameters(true)["student_head.last_layer.weight_v"].grad().defined());
        QVERIFY(frozen->named_parameters(true)["student_head.mlp.4.weight"].grad().defined());
    }

    void multiCropViews()
    {
        const auto c = DinoConfig::fromJson({});
        const vision::Normalization norm;
        const auto pixels = torch::rand({2, 3, 64, 48});
        const auto mean = torch::tensor({norm.mean[0], norm.mean[1], norm.mean[2]}).view({1, 3, 1, 1});
        const auto std = torch::tensor({norm.std[0], norm.std[1], norm.std[2]}).view({1, 3, 1, 1});
        const auto images = (pixels - mean) / std;
        const auto views = dinoViews(images, norm, c, 8);
        QCOMPARE(static_cast<int>(views.size()), 2 + c.localCrops);
        for (int v = 0; v < 2; ++v)
            QCOMPARE(views[v].sizes().vec(), (std::vector<std::int64_t>{2, 3, 64, 48}));
        for (std::size_t v = 2; v < views.size(); ++v)
            QCOMPARE(views[v].sizes().vec(), (std::vector<std::int64_t>{2, 3, 24, 24})); // 27.4 → 24, 20.6 → 24
        for (const auto &v : views) {
            const auto p = v * std + mean; // back in [0, 1]
            QVERIFY(p.min().item<float>() >= -1e-5 && p.max().item<float>() <= 1 + 1e-5);
            QVERIFY(!v.requires_grad());
        }
        // Photometric changes off and the crop the whole image: the identity, or its mirror.
        nlohmann::json plain = {{"global_scale_min", 1.0}, {"jitter_probability", 0.0}, {"grayscale_probability", 0.0},
                                {"blur", false}, {"solarize", false}, {"flip_probability", 0.0}, {"local_crops", 0}};
        const auto same = dinoViews(images, norm, DinoConfig::fromJson(plain), 8);
        QCOMPARE(same.size(), std::size_t{2});
        WSSS_VERIFY_CLOSE(same[0], images, 1e-4);
        WSSS_VERIFY_CLOSE(same[1], images, 1e-4);
        plain["flip_probability"] = 1.0;
        WSSS_VERIFY_CLOSE(dinoViews(images, norm, DinoConfig::fromJson(plain), 8)[0], images.flip({3}), 1e-4);
        // Grayscale always: the three channels equal in pixel space.
        plain["grayscale_probability"] = 1.0;
        const auto g = dinoViews(images, norm, DinoConfig::fromJson(plain), 8)[0] * std + mean;
        WSSS_VERIFY_CLOSE(g.select(1, 0), g.select(1, 2), 1e-5);
    }

    void inferClsAttention()
    {
        auto m = makeMethod();
        m->eval();
        torch::NoGradGuard noGrad;
        const auto image = torch::randn({1, 3, 40, 32});
        const auto labels = torch::tensor({1.f, 0.f, 1.f});
        const auto out = m->infer(image, true, labels);
        const auto &maps = out.maps.at(m->primaryMap());
        QCOMPARE(maps.sizes().vec(), (std::vector<std::int64_t>{kClasses, 40, 32}));
        const float low = maps.min().item<float>(), high = maps[0].max().item<float>();
        QVERIFY2(low >= 0 && high > 0.99f && high <= 1.f, (std::to_string(low) + " .. " + std::to_string(high)).c_str());
        QCOMPARE(maps[1].abs().max().item<float>(), 0.f); // absent class
        QVERIFY(torch::equal(maps[0], maps[2]));
        QCOMPARE(out.scores.sizes().vec(), (std::vector<std::int64_t>{kClasses}));
        QCOMPARE(out.scores.abs().sum().item<float>(), 0.f);
        QCOMPARE(out.gridHeight, std::int64_t{5});
        QCOMPARE(out.gridWidth, std::int64_t{4});
        QCOMPARE(static_cast<int>(out.attention.size()), m->backboneInfo().depth);
        // The map is the last block's CLS row, head mean: its argmax is the attention's.
        const auto cls = out.attention.back().select(1, 0).slice(1, 1).mean(0); // [20]
        const auto small = vision::resizeMaps(cls.view({1, 1, 5, 4}), 40, 32)[0][0];
        const auto peak = small.argmax().item<std::int64_t>(), mapPeak = maps[0].argmax().item<std::int64_t>();
        QCOMPARE(peak, mapPeak);
        // Without capture (queries and keys of the last block): the same maps; unknown labels: every class.
        const auto plain = m->infer(image, false, torch::Tensor());
        QVERIFY(plain.attention.empty() && plain.queries.empty());
        for (int k = 0; k < kClasses; ++k)
            WSSS_VERIFY_CLOSE(plain.maps.at("dino")[k], maps[0], 1e-5);
    }

    void studentFitsFixedTargets()
    {
        // Teacher frozen (momentum 1) and the centre the batch's own mean (momentum 0), the same
        // views every step: from step 1 (step 0 still used the zero centre) the targets stay put,
        // so the loss (their entropy + the KL to the student) must fall as the student learns them.
        auto m = makeMethod({{"momentum_teacher", 1.0}, {"center_momentum", 0.0}, {"drop_path", 0.0},
                             {"freeze_last_layer_fraction", 0.0}});
        m->train();
        const auto batch = fixedBatch(0, 60);
        auto recipe = m->recipe();
        torch::optim::AdamW opt(m->parameterGroups(recipe), torch::optim::AdamWOptions(recipe.lr));
        std::vector<double> losses;
        for (int i = 0; i < 60; ++i) {
            torch::manual_seed(11);
            auto r = m->trainStep(batch);
            losses.push_back(r.total().item<double>());
            opt.zero_grad();
            r.total().backward();
            opt.step();
        }
        const double first = losses[1], last = (losses[57] + losses[58] + losses[59]) / 3;
        QVERIFY2(last < first - 0.1, (std::to_string(first) + " → " + std::to_string(last)).c_str());
    }

    void trainingRunAndCheckpoint()
    {
        // Through the trainer from scratch on the tiny ViT. DINO's loss does not fall in 40 steps:
        // it starts low (the student is the teacher's copy and the centre is still 0) and climbs
        // toward log K as the centre flattens the targets; it falls only over far longer runs.
        // What is checked: finite losses and logs, a teacher that moves, and the checkpoint.
        QVERIFY(m_dir.isValid());
        const std::string data = test::makeTinyDemoData(m_dir.filePath("data").toStdString(), 16, 2);
        TrainOptions o = test::tinyRunOptions("dino", data, m_dir.filePath("run").toStdString(), 40, 8);
        o.sets = {"out_dim=256", "hidden_dim=64", "bottleneck_dim=32"};
        o.saveEvery = 20;
        o.keepCheckpoints = true;
        std::vector<StepLog> logs;
        TrainCallbacks cb;
        cb.onStep = [&](const StepLog &log) { logs.push_back(log); };
        const auto result = train(o, cb);
        QCOMPARE(static_cast<int>(logs.size()), 40);
        for (const auto &log : logs) {
            QVERIFY(std::isfinite(log.losses.at("dino")));
            const double h = log.logs.at("teacher_entropy");
            QVERIFY(h >= 0 && h <= std::log(256.0) + 1e-3);
        }
        qInfo().noquote() << QStringLiteral("dino: loss %1 at step 1, %2 at step 40")
                                 .arg(logs.front().losses.at("total")).arg(logs.back().losses.at("total"));
        // The teacher moved between the checkpoints of steps 20 and 40.
        const auto mid = loadCheckpoint(m_dir.filePath("run/checkpoint-step000020.wsss").toStdString());
        auto midParams = mid.method->named_parameters(true);

        auto loaded = loadCheckpoint(result.checkpointPath);
        QCOMPARE(loaded.header.method, std::string("dino"));
        auto *dino = dynamic_cast<DinoMethod *>(loaded.method.get());
        QVERIFY(dino && dino->teacherReady());
        QVERIFY(dino->center().abs().sum().item<float>() > 0);
        // The teacher is the backbone (a guider reads backbone.*), one EMA behind the student.
        const auto params = loaded.method->named_parameters(true);
        QVERIFY(params.find("backbone.blocks.1.attn.qkv.weight"));
        QVERIFY(params.find("student.blocks.1.attn.qkv.weight"));
        QVERIFY(!torch::equal(params["backbone.blocks.1.attn.qkv.weight"], params["student.blocks.1.attn.qkv.weight"]));
        QVERIFY(!torch::equal(params["backbone.blocks.1.attn.qkv.weight"], midParams["backbone.blocks.1.attn.qkv.weight"]));
        QVERIFY(!torch::equal(params["teacher_head.mlp.0.weight"], midParams["teacher_head.mlp.0.weight"]));
        for (const auto &p : params)
            if (isTeacherKey(p.key()))
                QVERIFY2(!p.value().requires_grad(), p.key().c_str());

        const auto copy = m_dir.filePath("copy.wsss").toStdString();
        saveCheckpoint(copy, loaded.header, *loaded.method);
        auto again = loadCheckpoint(copy);
        QCOMPARE(test::firstDifferentTensor(*loaded.method, *again.method), std::string());
        const auto val = vision::loadVocDataset(data, "val");
        const cv::Mat rgb = vision::readImageRgb(val.items.front().imagePath);
        const auto a = inferImage(loaded, rgb, true, torch::kCPU, val.items.front().labels);
        const auto b = inferImage(again, rgb, true, torch::kCPU, val.items.front().labels);
        QVERIFY(torch::equal(a.maps.at("dino"), b.maps.at("dino")));
        QCOMPARE(a.maps.at("dino").size(0), static_cast<std::int64_t>(loaded.header.labelMap.foregroundCount()));
        QVERIFY(a.maps.at("dino").max().item<float>() > 0.99f);
    }
};

QTEST_APPLESS_MAIN(TestDino)
#include "test_dino.moc"
