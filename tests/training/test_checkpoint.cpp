// The checkpoint keeps the backbone's input normalisation (which the loaded weights' family may
// have changed from the preset's), so inference normalises as training did; older checkpoints
// without it fall back to the preset's.
#include "support/tensor_compare.h"
#include "training/checkpoint/checkpoint.h"
#include "training/checkpoint/checkpoint_pack.h"
#include "training/data/demo_generator.h"
#include "training/methods/method_registry.h"
#include "vision/backbones/backbone_registry.h"
#include "vision/labels/pseudo_label_rule.h"
#include "vision/weights/safetensors.h"

#include <wsss/source_paths.h>

#include <QTemporaryDir>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <fstream>

using namespace wsss;

namespace {

const vision::Normalization kCustom{{0.1f, 0.2f, 0.3f}, {0.4f, 0.5f, 0.6f}};

// Where in `node` a string is an absolute path ("train.data", …).
void findAbsolutePaths(const nlohmann::json &node, const std::string &where, std::vector<std::string> &found)
{
    if (node.is_object())
        for (auto it = node.begin(); it != node.end(); ++it)
            findAbsolutePaths(it.value(), where + "." + it.key(), found);
    else if (node.is_array())
        for (std::size_t i = 0; i < node.size(); ++i)
            findAbsolutePaths(node[i], where + "[" + std::to_string(i) + "]", found);
    else if (node.is_string()) {
        const auto text = node.get<std::string>();
        const auto value = text.substr(text.find('=') == std::string::npos ? 0 : text.find('=') + 1);
        if (std::filesystem::path(text).is_absolute() ||
            (!value.empty() && std::filesystem::path(value[0] == '"' ? value.substr(1) : value).is_absolute()))
            found.push_back(where + " = " + text);
    }
}

bool sameNorm(const vision::Normalization &a, const vision::Normalization &b)
{
    return a.mean == b.mean && a.std == b.std;
}

// A tiny cam checkpoint whose backbone normalises with `norm`.
void writeCheckpoint(const std::string &path, const vision::Normalization &norm,
                     const nlohmann::json &train = nlohmann::json::object())
{
    torch::manual_seed(0);
    training::CheckpointHeader header;
    header.method = "cam";
    header.backbone = "vit_test_patch8";
    header.labelMap = training::demoLabelMap();
    header.inputSize = 64;
    header.train = train;
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

    // `wsss pack`: the copy a user shares or the application bundles is half the size, names no
    // folder of the machine the run was trained on, and loads to the same model up to fp16.
    void packedCopyIsSmallerPortableAndTheSameModel()
    {
        const auto file = path("run.wsss");
        writeCheckpoint(file, kCustom,
                        {{"data", "/home/someone/datasets/voc"},
                         {"set", {"guider=\"/home/someone/runs/dino/checkpoint.wsss\"", "pooling=gap"}},
                         {"batch", 16}});
        const auto packed = path("packed.wsss");
        const auto result = training::packCheckpoint({file, packed, "fp16", false});
        QVERIFY(result.tensorsConverted > 0);
        QVERIFY2(result.bytesOut < result.bytesIn * 6 / 10,
                 (std::to_string(result.bytesIn) + " → " + std::to_string(result.bytesOut)).c_str());
        QCOMPARE(result.pathsReduced, (std::vector<std::string>{"train.data", "train.set[0]"}));

        const auto header = training::readCheckpointHeader(packed);
        QCOMPARE(header.train.at("data").get<std::string>(), std::string("voc"));
        QCOMPARE(header.train.at("set").at(0).get<std::string>(), std::string("guider=\"checkpoint.wsss\""));
        QCOMPARE(header.train.at("set").at(1).get<std::string>(), std::string("pooling=gap"));
        QCOMPARE(header.train.at("batch").get<int>(), 16);
        QVERIFY(sameNorm(*header.normalization, kCustom));
        for (const auto &[name, tensor] : vision::readSafetensors(packed).tensors)
            if (tensor.is_floating_point())
                QVERIFY2(tensor.scalar_type() == torch::kHalf, name.c_str());

        const auto original = training::loadCheckpoint(file);
        const auto copy = training::loadCheckpoint(packed);
        const auto a = original.method->parameters(), b = copy.method->parameters();
        QCOMPARE(a.size(), b.size());
        bool someRounded = false;
        for (std::size_t i = 0; i < a.size(); ++i) {
            QCOMPARE(b[i].scalar_type(), torch::kFloat); // cast back on load
            QVERIFY(torch::allclose(a[i], b[i], 1e-3, 1e-4));
            someRounded = someRounded || !torch::equal(a[i], b[i]);
        }
        QVERIFY(someRounded);
    }

    // `wsss pack --set`: a copy that infers with the settings found to work (e.g. ViT-PCM's
    // infer_scale=1 on the demo) without the user passing them again; what was set is recorded.
    void packedCopyInfersWithTheSettingsItWasGiven()
    {
        const auto file = path("settings.wsss");
        writeCheckpoint(file, kCustom);
        const nlohmann::json set = {{"flip_inference", false}};
        const auto out = path("settings_packed.wsss");
        training::PackOptions options{file, out, "fp32", false};
        options.configOverrides = set;
        training::packCheckpoint(options);
        QCOMPARE(training::readCheckpointHeader(out).config.at("flip_inference").get<bool>(), false);
        QCOMPARE(nlohmann::json::parse(vision::readSafetensors(out).metadata.at("wsss")).at("packed_set"), set);
        torch::NoGradGuard noGrad;
        const auto x = torch::randn({1, 3, 64, 64});
        const auto copy = training::loadCheckpoint(out); // no override at load
        QCOMPARE(copy.method->config().at("flip_inference").get<bool>(), false);
        WSSS_VERIFY_CLOSE(copy.method->infer(x, false, {}).maps.at("cam"),
                          training::loadCheckpoint(file, torch::kCPU, set).method->infer(x, false, {}).maps.at("cam"), 0.0);
        // A key the method does not have: refused by name, nothing written.
        const auto bad = path("settings_bad.wsss");
        options = training::PackOptions{file, bad, "fp16", false};
        options.configOverrides = {{"no_such_key", 1}};
        WSSS_VERIFY_THROWS_WITH(training::packCheckpoint(options), "no_such_key");
        QVERIFY(!QFile::exists(QString::fromStdString(bad)));
    }

    void packNeverOverwritesWithoutBeingAsked()
    {
        const auto file = path("keep.wsss");
        writeCheckpoint(file, kCustom);
        const auto out = path("keep_fp16.wsss");
        WSSS_VERIFY_THROWS_WITH(training::packCheckpoint({file, file, "fp16", true}), "is the checkpoint itself");
        training::packCheckpoint({file, out, "fp16", false});
        WSSS_VERIFY_THROWS_WITH(training::packCheckpoint({file, out, "fp16", false}), "--force");
        // fp32: only the header changes; --force replaces the copy.
        const auto r = training::packCheckpoint({file, out, "fp32", true});
        QCOMPARE(r.tensorsConverted, std::size_t{0});
        QVERIFY(torch::equal(training::loadCheckpoint(out).method->parameters().front(),
                             training::loadCheckpoint(file).method->parameters().front()));
        // Backbone weights are not a checkpoint: the message names the file.
        const auto weights = path("weights.safetensors");
        vision::writeSafetensors(weights, {{"w", torch::ones({2})}});
        WSSS_VERIFY_THROWS_WITH(training::packCheckpoint({weights, path("w16.wsss"), "fp16", false}), "weights.safetensors");
        QVERIFY(!QFile::exists(QString::fromStdString(path("w16.wsss"))));
    }

    // The checkpoints the application bundles (`make run` opens one) load, carry the rule the
    // demo project starts from, and name no folder of the machine they were trained on.
    void bundledDemoCheckpointsArePortable()
    {
        int checked = 0;
        for (const auto &entry : std::filesystem::directory_iterator(WSSS_SOURCE_RESOURCE_DIR "/demo")) {
            if (entry.path().extension() != ".wsss")
                continue;
            const auto file = entry.path().string();
            std::vector<std::string> paths;
            findAbsolutePaths(training::readCheckpointHeader(file).toJson(), "", paths);
            QVERIFY2(paths.empty(), (file + ": " + (paths.empty() ? "" : paths.front())).c_str());
            const auto loaded = training::loadCheckpoint(file);
            QVERIFY(!loaded.method->parameters().empty());
            auto rulePath = entry.path();
            rulePath.replace_extension(".rule.json");
            std::ifstream ruleFile(rulePath);
            QVERIFY2(ruleFile.good(), rulePath.string().c_str());
            const auto rule = vision::PseudoLabelRule::fromJson(nlohmann::json::parse(ruleFile));
            QVERIFY(rule.refines()); // the first screen shows masks as an export writes them
            ++checked;
        }
        QVERIFY(checked >= 2);
    }
};

QTEST_APPLESS_MAIN(TestCheckpoint)
#include "test_checkpoint.moc"
