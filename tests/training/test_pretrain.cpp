// `wsss pretrain`: the demo backbone learns to classify single Fashion-MNIST items, its file
// loads back into the preset, and a longer schedule can continue from an earlier run's file.
#include "training/loop/pretrainer.h"
#include "vision/backbones/backbone_registry.h"
#include "vision/backbones/vit.h"
#include "vision/core/error.h"
#include "vision/weights/safetensors.h"
#include "vision/weights/vit_key_maps.h"

#include <QTemporaryDir>
#include <QTest>
#include <torch/torch.h>

#include <cmath>
#include <fstream>

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
