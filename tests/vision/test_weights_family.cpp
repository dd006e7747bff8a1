// Weights families and their input normalisation: detection from metadata, keys and names
// (Hugging Face cache folders included), and loadVitWeights handing the family's normalisation
// to the model in place of the preset's.
#include "support/tensor_compare.h"
#include "vision/backbones/vit.h"
#include "vision/weights/safetensors.h"
#include "vision/weights/vit_key_maps.h"
#include "vision/weights/weights_family.h"

#include <QTemporaryDir>
#include <torch/torch.h>

#include <algorithm>
#include <filesystem>
#include <wsss/source_paths.h>

using namespace wsss;

Q_DECLARE_METATYPE(vision::WeightsFamily)

namespace {

std::string fixture(const std::string &name)
{
    return std::string(WSSS_SOURCE_DIR) + "/tests/fixtures/vit_family/" + name + ".safetensors";
}

// The vit_family reference's tiny timm ViT (width 16, 2 blocks, 2 heads, patch 4, 16 px).
vision::VitConfig tinyConfig(const vision::Normalization &norm)
{
    vision::VitConfig c;
    c.name = "tiny";
    c.patchSize = 4;
    c.embedDim = 16;
    c.depth = 2;
    c.heads = 2;
    c.imgSize = 16;
    c.norm = norm;
    return c;
}

const vision::Normalization kImageNet{};
const vision::Normalization kHalf{{0.5f, 0.5f, 0.5f}, {0.5f, 0.5f, 0.5f}};

bool sameNorm(const vision::Normalization &a, const vision::Normalization &b)
{
    return a.mean == b.mean && a.std == b.std;
}

std::map<std::string, torch::Tensor> keysOf(const QString &kind)
{
    std::map<std::string, torch::Tensor> t{{"cls_token", torch::zeros({1})}, {"pos_embed", torch::zeros({1})}};
    if (kind == "hybrid")
        t["patch_embed.backbone.stem.conv.weight"] = torch::zeros({1});
    else if (kind == "distilled")
        t["dist_token"] = torch::zeros({1});
    else if (kind == "hf distilled")
        t = {{"deit.embeddings.distillation_token", torch::zeros({1})}};
    else if (kind == "mit")
        t = {{"patch_embed1.proj.weight", torch::zeros({1})}, {"block1.0.attn.q.weight", torch::zeros({1})}};
    return t;
}

} // namespace

class TestWeightsFamily : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;

    // A copy of the reference's timm ViT weights under `relative` (folders created).
    std::string copyAs(const std::string &relative, const std::map<std::string, std::string> &metadata = {})
    {
        const std::filesystem::path to = std::filesystem::path(m_dir.path().toStdString()) / relative;
        std::filesystem::create_directories(to.parent_path());
        vision::writeSafetensors(to.string(), vision::readSafetensors(fixture("timm_vit.weights")).tensors, metadata);
        return to.string();
    }

private Q_SLOTS:
    void detectsFamily_data()
    {
        QTest::addColumn<QString>("path");
        QTest::addColumn<QString>("keys");
        QTest::addColumn<vision::WeightsFamily>("family");
        QTest::addColumn<float>("mean");
        using F = vision::WeightsFamily;
        QTest::newRow("timm augreg file name") << "/w/vit_small_patch16_384.augreg_in21k_ft_in1k.safetensors" << "vit"
                                               << F::AugregVit << 0.5f;
        QTest::newRow("hub cache folder") << "/c/models--timm--vit_small_patch16_384.augreg_in21k_ft_in1k/snapshots/0a1b/model.safetensors"
                                          << "vit" << F::AugregVit << 0.5f;
        QTest::newRow("google hub local dir") << "/w/google--vit-base-patch16-224/model.safetensors" << "vit"
                                              << F::AugregVit << 0.5f;
        QTest::newRow("jax port") << "/w/jx_vit_base_p16_224-80ecf9dd.safetensors" << "vit" << F::AugregVit << 0.5f;
        QTest::newRow("dino beats vit token") << "/w/vit_small_patch8_224.dino.safetensors" << "vit" << F::Dino << 0.485f;
        QTest::newRow("dino hub") << "/c/models--facebook--dino-vits16/snapshots/9f/model.safetensors" << "vit" << F::Dino
                                  << 0.485f;
        QTest::newRow("deit name") << "/w/deit_small_patch16_224.fb_in1k.safetensors" << "vit" << F::Deit << 0.485f;
        QTest::newRow("deit keys") << "/w/weights.safetensors" << "distilled" << F::Deit << 0.485f;
        QTest::newRow("hf deit keys") << "/w/weights.safetensors" << "hf distilled" << F::Deit << 0.485f;
        QTest::newRow("mit keys") << "/w/pretrained.safetensors" << "mit" << F::Mit << 0.485f;
        QTest::newRow("mit name") << "/w/mit_b1.safetensors" << "vit" << F::Mit << 0.485f;
        // timm's name says orig_in21k (0.5), the keys say hybrid: ACR's ImageNet wins.
        QTest::newRow("hybrid keys over name") << "/w/vit_base_r50_s16_384.orig_in21k_ft_in1k.safetensors" << "hybrid"
                                               << F::R50Hybrid << 0.485f;
        QTest::newRow("hybrid name") << "/w/jx_vit_base_resnet50_384-9fd3c705.safetensors" << "vit" << F::R50Hybrid
                                     << 0.485f;
        QTest::newRow("unknown") << "/w/weights.safetensors" << "vit" << F::Unknown << 0.485f;
        // Only the file name, a hub cache folder and a generic file's own folder count.
        QTest::newRow("user folder ignored") << "/home/dino/augreg/vit_tiny.safetensors" << "vit" << F::Unknown << 0.485f;
    }

    void detectsFamily()
    {
        QFETCH(QString, path);
        QFETCH(QString, keys);
        QFETCH(vision::WeightsFamily, family);
        QFETCH(float, mean);
        const auto got = vision::detectWeightsFamily(keysOf(keys), {}, path.toStdString());
        QVERIFY2(got.family == family, vision::familyName(got.family).c_str());
        if (family != vision::WeightsFamily::Unknown) {
            QCOMPARE(got.norm.mean[0], mean);
            QVERIFY(!got.reason.empty());
        }
    }

    void metadataAnnotationWins()
    {
        const auto got = vision::detectWeightsFamily(keysOf("hybrid"), {{"normalization", R"({"mean":[0.1,0.2,0.3],"std":[0.4,0.5,0.6]})"}},
                                                     "/w/deit.safetensors");
        QVERIFY(got.family == vision::WeightsFamily::Annotated);
        QVERIFY(sameNorm(got.norm, {{0.1f, 0.2f, 0.3f}, {0.4f, 0.5f, 0.6f}}));
        WSSS_VERIFY_THROWS_WITH(vision::detectWeightsFamily({}, {{"normalization", R"({"mean":[0.1,0.2]})"}}, "bad.safetensors"),
                                "weights \"bad.safetensors\": metadata \"normalization\"");
        WSSS_VERIFY_THROWS_WITH(
            vision::detectWeightsFamily({}, {{"normalization", R"({"mean":[0,0,0],"std":[1,0,1]})"}}, "zero.safetensors"),
            "std that is not positive");
    }

    void loadingSetsTheFamilysNormalization()
    {
        vision::VisionTransformer vit(tinyConfig(kImageNet));
        auto loaded = vision::loadVitWeights(*vit, copyAs("vit_small_patch16_384.augreg_in21k_ft_in1k.safetensors"));
        QVERIFY(loaded.family.family == vision::WeightsFamily::AugregVit);
        QVERIFY(sameNorm(vit->config().norm, kHalf));
        QVERIFY(std::any_of(loaded.notes.begin(), loaded.notes.end(),
                            [](const std::string &n) { return n.find("input normalisation mean 0.5") != std::string::npos; }));

        vision::VisionTransformer deit(tinyConfig(kHalf));
        vision::loadVitWeights(*deit, copyAs("models--timm--deit_small_patch16_224.fb_in1k/snapshots/3c/model.safetensors"));
        QVERIFY(sameNorm(deit->config().norm, kImageNet));

        vision::VisionTransformer annotated(tinyConfig(kImageNet));
        vision::loadVitWeights(*annotated, copyAs("converted.safetensors", {{"normalization", R"({"mean":[0.5,0.5,0.5],"std":[0.5,0.5,0.5]})"}}));
        QVERIFY(sameNorm(annotated->config().norm, kHalf));
    }

    void unknownOrSameFamilyKeepsThePresetQuietly()
    {
        vision::VisionTransformer vit(tinyConfig(kHalf));
        auto loaded = vision::loadVitWeights(*vit, copyAs("weights.safetensors"));
        QVERIFY(loaded.family.family == vision::WeightsFamily::Unknown);
        QVERIFY(sameNorm(vit->config().norm, kHalf));
        vision::VisionTransformer same(tinyConfig(kHalf));
        loaded = vision::loadVitWeights(*same, copyAs("vit_tiny_patch16_224.augreg_in21k.safetensors"));
        QVERIFY(loaded.family.family == vision::WeightsFamily::AugregVit);
        QVERIFY(std::none_of(loaded.notes.begin(), loaded.notes.end(),
                             [](const std::string &n) { return n.find("normalisation") != std::string::npos; }));
    }
};

QTEST_APPLESS_MAIN(TestWeightsFamily)
#include "test_weights_family.moc"
