// The checkpoint keeps the backbone's input normalisation (which the loaded weights' family may
// have changed from the preset's), so inference normalises as training did; older checkpoints
// without it fall back to the preset's.
#include "support/tensor_compare.h"
#include "training/checkpoint/checkpoint.h"
#include "training/data/demo_generator.h"
#include "training/methods/method_registry.h"
#include "vision/backbones/backbone_registry.h"
#include "vision/weights/safetensors.h"

#include <QTemporaryDir>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

using namespace wsss;

namespace {

const vision::Normalization kCustom{{0.1f, 0.2f, 0.3f}, {0.4f, 0.5f, 0.6f}};

bool sameNorm(const vision::Normalization &a, const vision::Normalization &b)
{
    return a.mean == b.mean && a.std == b.std;
}

// A tiny cam checkpoint whose backbone normalises with `norm`.
void writeCheckpoint(const std::string &path, const vision::Normalization &norm)
{
    torch::manual_seed(0);
    training::CheckpointHeader header;
    header.method = "cam";
    header.backbone = "vit_test_patch8";
    header.labelMap = training::demoLabelMap();
    header.inputSize = 64;
    auto model = training::createMethod(header.spec());
    header.config = model->config();
    model->backbone().setNormalization(norm);
    training::saveCheckpoint(path, header, *model);
}

} // namespace

class TestCheckpoint : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    std::string path(const std::string &name) const { return m_dir.filePath(QString::fromStdString(name)).toStdString(); }

private Q_SLOTS:
    void normalizationTravelsWithTheRun()
    {
        const auto file = path("custom.wsss");
        writeCheckpoint(file, kCustom);
        const auto header = training::readCheckpointHeader(file);
        QVERIFY(header.normalization.has_value());
        QVERIFY(sameNorm(*header.normalization, kCustom));
        const auto loaded = training::loadCheckpoint(file);
        QVERIFY(sameNorm(loaded.method->backboneInfo().norm, kCustom));
    }

    // `wsss infer --set`: a key that changes how maps are made reaches the trained model.
    void overridesAtLoadReachTheModel()
    {
        const auto file = path("flip.wsss");
        writeCheckpoint(file, kCustom);
        QCOMPARE(training::loadCheckpoint(file).method->config().at("flip_inference").get<bool>(), true);
        const auto loaded = training::loadCheckpoint(file, torch::kCPU, {{"flip_inference", false}});
        QCOMPARE(loaded.method->config().at("flip_inference").get<bool>(), false);
        QCOMPARE(loaded.header.config.at("flip_inference").get<bool>(), false);
        QCOMPARE(loaded.configOverrides, nlohmann::json({{"flip_inference", false}}));
        // The tensors are the checkpoint's all the same.
        const auto plain = training::loadCheckpoint(file);
        QVERIFY(torch::equal(loaded.method->parameters().front(), plain.method->parameters().front()));
        WSSS_VERIFY_THROWS_WITH(training::loadCheckpoint(file, torch::kCPU, {{"no_such_key", 1}}), "no_such_key");
    }

    void olderCheckpointsKeepThePreset()
    {
        const auto file = path("old.wsss");
        writeCheckpoint(file, kCustom);
        auto stored = vision::readSafetensors(file);
        auto json = nlohmann::json::parse(stored.metadata.at("wsss"));
        json.erase("normalization");
        vision::writeSafetensors(file, stored.tensors, {{"wsss", json.dump()}});
        QVERIFY(!training::readCheckpointHeader(file).normalization.has_value());
        const auto loaded = training::loadCheckpoint(file);
        QVERIFY(sameNorm(loaded.method->backboneInfo().norm, vision::vitPreset("vit_test_patch8").norm));
    }
};

QTEST_APPLESS_MAIN(TestCheckpoint)
#include "test_checkpoint.moc"
