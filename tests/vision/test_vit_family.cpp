// The ViT family against an independent PyTorch reference (tests/fixtures/vit_family): timm and
// Hugging Face names, the R50 hybrid's ResNetV2 stem, several class tokens, captured logits,
// queries and keys, position embeddings resized on load; presets; drop rates; load errors.
#include "support/tensor_compare.h"
#include "vision/backbones/backbone_registry.h"
#include "vision/backbones/resnetv2_stem.h"
#include "vision/backbones/vit.h"
#include "vision/weights/load_weights.h"
#include "vision/weights/safetensors.h"
#include "vision/weights/vit_key_maps.h"

#include <QTemporaryDir>
#include <torch/torch.h>

#include <algorithm>
#include <wsss/source_paths.h>

using namespace wsss;

namespace {

constexpr double kTol = 1e-4;

std::string fixture(const std::string &name)
{
    return std::string(WSSS_SOURCE_DIR) + "/tests/fixtures/vit_family/" + name + ".safetensors";
}

std::map<std::string, torch::Tensor> io(const std::string &testCase)
{
    return vision::readSafetensors(fixture(testCase + ".io")).tensors;
}

// The reference script's tiny ViT: width 16, 2 blocks, 2 heads, patch 4.
vision::VitConfig tinyConfig(int imgSize, int prefixTokens = 1)
{
    vision::VitConfig c;
    c.name = "tiny";
    c.patchSize = 4;
    c.embedDim = 16;
    c.depth = 2;
    c.heads = 2;
    c.imgSize = imgSize;
    c.prefixTokens = prefixTokens;
    return c;
}

bool anyNoteContains(const vision::VitWeights &w, const std::string &text)
{
    return std::any_of(w.notes.begin(), w.notes.end(), [&](const std::string &n) { return n.find(text) != std::string::npos; });
}

vision::CaptureRequest lastBlockEverything()
{
    vision::CaptureRequest r{true, {-1}};
    r.logits = r.queries = r.keys = true;
    return r;
}

} // namespace

class TestVitFamily : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    std::string path(const std::string &name) const { return m_dir.filePath(QString::fromStdString(name)).toStdString(); }

private Q_SLOTS:
    void init() { torch::manual_seed(0); }

    void timmNamesMatchReference()
    {
        vision::VisionTransformer vit(tinyConfig(16));
        auto loaded = vision::loadVitWeights(*vit, fixture("timm_vit.weights"));
        QVERIFY(loaded.naming == vision::WeightNaming::Timm);
        QVERIFY2(anyNoteContains(loaded, "head.weight"), "the classifier head is ignored with a note");
        vit->eval();
        torch::NoGradGuard noGrad;
        auto ref = io("timm_vit");
        auto out = vit(ref.at("input"), lastBlockEverything());
        WSSS_VERIFY_CLOSE(out.tokens, ref.at("tokens"), kTol);
        QCOMPARE(out.capturedLayers, std::vector<int>{1});
        WSSS_VERIFY_CLOSE(out.attention.at(0), ref.at("probs.1"), kTol);
        WSSS_VERIFY_CLOSE(out.logits.at(0), ref.at("logits.1"), kTol);
        WSSS_VERIFY_CLOSE(out.queries.at(0), ref.at("queries.1"), kTol);
        WSSS_VERIFY_CLOSE(out.keys.at(0), ref.at("keys.1"), kTol);
        // Another grid at forward time (6×5 from the stored 4×4): timm's bicubic to the size...
        WSSS_VERIFY_CLOSE(vit(ref.at("input2")).tokens, ref.at("tokens2"), kTol);
        // ...or DINO's and MCTformer's scale factor (g + 0.1)/4.
        auto dinoConfig = tinyConfig(16);
        dinoConfig.posEmbedResize = vision::PosEmbedResize::BicubicScale;
        vision::VisionTransformer dino(dinoConfig);
        vision::loadVitWeights(*dino, fixture("timm_vit.weights"));
        dino->eval();
        WSSS_VERIFY_CLOSE(dino(ref.at("input2")).tokens, ref.at("tokens2_scale"), kTol);
    }

    void captureIsSelectiveByKind()
    {
        vision::VisionTransformer vit(tinyConfig(16));
        vision::loadVitWeights(*vit, fixture("timm_vit.weights"));
        vit->eval();
        torch::NoGradGuard noGrad;
        auto ref = io("timm_vit");
        vision::CaptureRequest keysOnly;
        keysOnly.keys = true;
        keysOnly.layers = {1};
        auto out = vit(ref.at("input"), keysOnly);
        QCOMPARE(out.capturedLayers, std::vector<int>{1});
        QVERIFY(out.attention.empty() && out.logits.empty() && out.queries.empty());
        QCOMPARE(static_cast<int>(out.keys.size()), 1);
        WSSS_VERIFY_CLOSE(out.keys[0], ref.at("keys.1"), kTol);
        // All blocks, logits only: one entry per block, the softmax of each is the attention.
        vision::CaptureRequest logits;
        logits.logits = true;
        auto all = vit(ref.at("input"), logits);
        QCOMPARE(all.capturedLayers, (std::vector<int>{0, 1}));
        WSSS_VERIFY_CLOSE(all.logits[1].softmax(-1), ref.at("probs.1"), kTol);
        WSSS_VERIFY_CLOSE(all.tokens, ref.at("tokens"), kTol);
    }

    void huggingFaceNamesMatchReference()
    {
        vision::VisionTransformer vit(tinyConfig(16));
        auto loaded = vision::loadVitWeights(*vit, fixture("hf_vit.weights"));
        QVERIFY(loaded.naming == vision::WeightNaming::HuggingFace);
        QVERIFY2(anyNoteContains(loaded, "vit.pooler.dense.weight"), "the pooler is ignored with a note");
        QVERIFY2(anyNoteContains(loaded, "classifier.weight"), "the classifier is ignored with a note");
        vit->eval();
        torch::NoGradGuard noGrad;
        auto ref = io("hf_vit");
        auto out = vit(ref.at("input"), lastBlockEverything());
        WSSS_VERIFY_CLOSE(out.tokens, ref.at("tokens"), kTol);
        WSSS_VERIFY_CLOSE(out.queries.at(0), ref.at("queries.1"), kTol);
        WSSS_VERIFY_CLOSE(out.keys.at(0), ref.at("keys.1"), kTol);

        // ViTModel files have no "vit." prefix (facebook/dino-vits8): same weights, same result.
        std::map<std::string, torch::Tensor> bare;
        for (const auto &[key, t] : vision::readSafetensors(fixture("hf_vit.weights")).tensors)
            if (key.rfind("vit.", 0) == 0)
                bare[key.substr(4)] = t;
        vision::writeSafetensors(path("bare.safetensors"), bare);
        vision::VisionTransformer other(tinyConfig(16));
        auto bareLoaded = vision::loadVitWeights(*other, path("bare.safetensors"));
        QVERIFY(bareLoaded.naming == vision::WeightNaming::HuggingFace);
        other->eval();
        WSSS_VERIFY_CLOSE(other(ref.at("input")).tokens, ref.at("tokens"), kTol);
    }

    void hybridStemMatchesReference()
    {
        vision::VisionTransformer vit(vision::vitPreset("vit_test_r50_s16"));
        auto loaded = vision::loadVitWeights(*vit, fixture("hybrid.weights"));
        QVERIFY(loaded.naming == vision::WeightNaming::Timm);
        vit->eval();
        torch::NoGradGuard noGrad;
        auto ref = io("hybrid");
        auto embed = vit->named_children()["patch_embed"]->as<vision::PatchEmbedImpl>();
        QVERIFY(embed != nullptr);
        WSSS_VERIFY_CLOSE(embed->forward(ref.at("input")), ref.at("features"), kTol);
        auto out = vit(ref.at("input"), vision::CaptureRequest{true, {-1}});
        QCOMPARE(out.gridHeight, 3);
        QCOMPARE(out.gridWidth, 4);
        WSSS_VERIFY_CLOSE(out.tokens, ref.at("tokens"), kTol);
        WSSS_VERIFY_CLOSE(out.attention.at(0), ref.at("probs.1"), kTol);
    }

    void resnetStemHasTimmNamesAndStride()
    {
        // The full R50 hybrid stem: layers (3, 4, 9), 1024 channels at stride 16, timm's keys.
        vision::ResNetV2Config config;
        vision::ResNetV2Stem stem(config);
        auto keys = vision::stateDict(*stem);
        for (const char *key : {"stem.conv.weight", "stem.norm.weight", "stages.0.blocks.0.downsample.conv.weight",
                                "stages.0.blocks.0.downsample.norm.bias", "stages.1.blocks.3.conv2.weight",
                                "stages.2.blocks.8.norm3.weight"})
            QVERIFY2(keys.count(key), key);
        QVERIFY(!keys.count("stages.2.blocks.9.conv1.weight"));
        QVERIFY(!keys.count("stages.0.blocks.1.downsample.conv.weight"));
        QCOMPARE(keys.at("stages.1.blocks.0.conv2.weight").sizes().vec(), (std::vector<int64_t>{128, 128, 3, 3}));
        QCOMPARE(config.stride(), 16);
        torch::NoGradGuard noGrad;
        stem->eval();
        QCOMPARE(stem(torch::randn({1, 3, 64, 48})).sizes().vec(), (std::vector<int64_t>{1, 1024, 4, 3}));
    }

    void weightStandardizationForms()
    {
        vision::ResNetV2Config config;
        config.stdConvEps = 1e-2; // large, so the two forms differ visibly
        vision::StdConv2dSame timm(4, 3, 3, 1, config);
        config.standardization = vision::WeightStandardization::StdPlusEps;
        vision::StdConv2dSame acr(4, 3, 3, 1, config);
        torch::NoGradGuard noGrad;
        auto w = torch::randn({3, 4, 3, 3});
        timm->named_parameters()["weight"].copy_(w);
        acr->named_parameters()["weight"].copy_(w);
        auto flat = w.reshape({3, -1});
        auto mean = flat.mean(1, true);
        auto var = flat.var(1, false, true);
        WSSS_VERIFY_CLOSE(timm->standardizedWeight().reshape({3, -1}), (flat - mean) / torch::sqrt(var + 1e-2), 1e-6);
        WSSS_VERIFY_CLOSE(acr->standardizedWeight().reshape({3, -1}), (flat - mean) / (torch::sqrt(var) + 1e-2), 1e-6);
    }

    void twoClassTokensMatchReference()
    {
        vision::VisionTransformer vit(tinyConfig(16, 2));
        vision::loadVitWeights(*vit, fixture("deit_2cls.weights"));
        vit->eval();
        torch::NoGradGuard noGrad;
        auto ref = io("deit_2cls");
        auto out = vit(ref.at("input"), vision::CaptureRequest{true, {-1}});
        QCOMPARE(out.prefixTokens, 2);
        QCOMPARE(out.prefix().sizes().vec(), (std::vector<int64_t>{2, 2, 16}));
        QCOMPARE(out.patchFeatures().sizes().vec(), (std::vector<int64_t>{2, 16, 4, 4}));
        WSSS_VERIFY_CLOSE(out.tokens, ref.at("tokens"), kTol);
        WSSS_VERIFY_CLOSE(out.attention.at(0), ref.at("probs.1"), kTol);
    }

    void oneClassTokenIsRepeatedForMany()
    {
        // MCTformer starts its class tokens from DeiT's single one.
        vision::VisionTransformer vit(tinyConfig(16, 3));
        auto loaded = vision::loadVitWeights(*vit, fixture("timm_vit.weights"));
        QVERIFY(anyNoteContains(loaded, "repeated to 3"));
        auto file = vision::readSafetensors(fixture("timm_vit.weights")).tensors;
        auto params = vit->named_parameters();
        WSSS_VERIFY_CLOSE(params["cls_token"], file.at("cls_token").expand({1, 3, 16}), 0.0);
        WSSS_VERIFY_CLOSE(params["pos_embed"].slice(1, 0, 3), file.at("pos_embed").slice(1, 0, 1).expand({1, 3, 16}), 0.0);
        WSSS_VERIFY_CLOSE(params["pos_embed"].slice(1, 3), file.at("pos_embed").slice(1, 1), 0.0);
    }

    void positionEmbeddingResizedOnLoad()
    {
        // A 4×4-grid file into a 6×6-grid model: timm's resample (bicubic, align_corners false).
        vision::VisionTransformer vit(tinyConfig(24));
        auto loaded = vision::loadVitWeights(*vit, fixture("pos_resize.weights"));
        QVERIFY(anyNoteContains(loaded, "resized from 4x4 to 6x6"));
        auto ref = io("pos_resize");
        WSSS_VERIFY_CLOSE(vit->named_parameters()["pos_embed"], ref.at("pos_embed"), kTol);
        vit->eval();
        torch::NoGradGuard noGrad;
        WSSS_VERIFY_CLOSE(vit(ref.at("input")).tokens, ref.at("tokens"), kTol);
    }

    void bundledDemoWeightsStillLoad()
    {
        vision::VisionTransformer vit(vision::vitPreset("vit_demo_patch8"));
        auto loaded = vision::loadVitWeights(*vit, vision::bundledWeightsPath("vit_demo_patch8"));
        QVERIFY(loaded.naming == vision::WeightNaming::Timm);
        QVERIFY(loaded.notes.empty());
    }

    void loadErrorsNameTheTensor_data()
    {
        QTest::addColumn<QString>("source");
        QTest::addColumn<QString>("mutation");
        QTest::addColumn<QString>("expected");
        QTest::newRow("timm wrong shape") << "timm_vit" << "reshape blocks.0.attn.qkv.weight"
                                          << "tensor \"blocks.0.attn.qkv.weight\" has shape [24, 32], expected [48, 16]";
        QTest::newRow("timm missing") << "timm_vit" << "erase blocks.1.norm2.bias" << "missing tensors: blocks.1.norm2.bias";
        QTest::newRow("timm unexpected") << "timm_vit" << "add blocks.0.attn.extra" << "unexpected tensors: blocks.0.attn.extra";
        QTest::newRow("timm deeper file") << "timm_vit" << "add blocks.2.norm1.weight" << "unexpected tensors: blocks.2.norm1.weight";
        QTest::newRow("hf wrong shape") << "hf_vit" << "reshape vit.encoder.layer.0.attention.output.dense.weight"
                                        << "tensor \"vit.encoder.layer.0.attention.output.dense.weight\" has shape [8, 32]";
        QTest::newRow("hf split qkv mismatch") << "hf_vit" << "reshape vit.encoder.layer.1.attention.attention.key.weight"
                                               << "attention.attention.value.weight differ in shape";
        QTest::newRow("hf missing") << "hf_vit" << "erase vit.encoder.layer.1.attention.attention.value.bias"
                                    << "missing tensors: vit.encoder.layer.1.attention.attention.value.bias";
        QTest::newRow("hf unexpected") << "hf_vit" << "add vit.encoder.layer.0.extra" << "unexpected tensors: vit.encoder.layer.0.extra";
        QTest::newRow("not a vit") << "timm_vit" << "erase cls_token,pos_embed" << "not a ViT";
        QTest::newRow("pos embed not square") << "timm_vit" << "reshape pos_embed" << "not a square grid";
    }

    void loadErrorsNameTheTensor()
    {
        QFETCH(QString, source);
        QFETCH(QString, mutation);
        QFETCH(QString, expected);
        auto tensors = vision::readSafetensors(fixture(source.toStdString() + ".weights")).tensors;
        const auto parts = mutation.split(' ');
        for (const auto &key : parts[1].split(',')) {
            const std::string k = key.toStdString();
            if (parts[0] == "erase")
                QVERIFY(tensors.erase(k) == 1);
            else if (parts[0] == "add")
                tensors[k] = torch::zeros({16});
            else if (k == "pos_embed")
                tensors[k] = torch::zeros({1, 16, 16}); // 15 positions after the class token
            else
                tensors[k] = tensors.at(k).reshape({tensors.at(k).size(0) / 2, -1});
        }
        const std::string file = path("mutated.safetensors");
        vision::writeSafetensors(file, tensors);
        vision::VisionTransformer vit(tinyConfig(16));
        WSSS_VERIFY_THROWS_WITH(vision::loadVitWeights(*vit, file), expected.toStdString());
        WSSS_VERIFY_THROWS_WITH(vision::loadVitWeights(*vit, file), "mutated.safetensors");
    }

    void presetsCarryInputSizeAndNormalisation()
    {
        auto s16 = vision::vitPreset("vit_small_patch16");
        QCOMPARE(s16.imgSize, 384);
        QCOMPARE(s16.norm.mean[0], 0.5f);
        auto hybrid = vision::vitPreset("vit_base_r50_s16");
        QVERIFY(hybrid.resnetStem.has_value());
        QCOMPARE(hybrid.resnetStem->depths, (std::vector<int>{3, 4, 9}));
        QCOMPARE(hybrid.gridSize(), 24);
        QCOMPARE(hybrid.embedDim, 768);
        QCOMPARE(hybrid.norm.std[2], 0.225f); // ImageNet, as ACR feeds it (not timm's 0.5)
        auto deit = vision::vitPreset("deit_small_patch16");
        QCOMPARE(deit.imgSize, 224);
        QCOMPARE(deit.norm.mean[0], 0.485f);
        QCOMPARE(deit.prefixTokens, 1);
        for (const char *name : {"dino_vit_small_patch8", "dino_vit_small_patch16", "dino_vit_base_patch16"}) {
            auto dino = vision::vitPreset(name);
            QVERIFY(dino.posEmbedResize == vision::PosEmbedResize::BicubicScale);
            QCOMPARE(dino.norm.std[0], 0.229f);
        }
        QCOMPARE(vision::vitPreset("dino_vit_small_patch8").gridSize(), 28);
        QCOMPARE(vision::vitPreset("dino_vit_base_patch16").embedDim, 768);
        // The unknown-name message lists every preset.
        try {
            vision::vitPreset("vit_giant_patch3");
            QFAIL("expected an exception");
        } catch (const std::exception &e) {
            for (const auto &name : vision::backboneNames())
                QVERIFY2(std::string(e.what()).find(name) != std::string::npos, name.c_str());
        }
    }

    void tinyHybridPresetRuns()
    {
        vision::VisionTransformer vit(vision::vitPreset("vit_test_r50_s16"));
        torch::NoGradGuard noGrad;
        auto out = vit(torch::randn({2, 3, 64, 64}), vision::CaptureRequest::allAttention());
        QCOMPARE(out.gridHeight, 4);
        QCOMPARE(out.tokens.sizes().vec(), (std::vector<int64_t>{2, 17, 16}));
        QCOMPARE(static_cast<int>(out.attention.size()), 2);
    }

    void dropRatesActInTrainModeOnly()
    {
        vision::VisionTransformer vit(tinyConfig(16));
        vision::loadVitWeights(*vit, fixture("timm_vit.weights"));
        torch::NoGradGuard noGrad;
        auto x = io("timm_vit").at("input");
        vit->eval();
        auto reference = vit(x).tokens;
        const vision::DropRates strong{0.5, 0.2};
        WSSS_VERIFY_CLOSE(vit->forward(x, {}, strong).tokens, reference, 0.0);
        vit->train();
        WSSS_VERIFY_CLOSE(vit->forward(x, {}, {}).tokens, reference, 0.0); // zero rates: deterministic
        auto a = vit->forward(x, {}, strong).tokens, b = vit->forward(x, {}, strong).tokens;
        QVERIFY2(!torch::allclose(a, reference), "train-mode drop rates change the output");
        QVERIFY2(!torch::allclose(a, b), "and differently on each call");
        // Drop-path alone keeps the first block (rate 0 there) and drops whole samples' branches.
        auto pathOnly = vit->forward(x, {}, vision::DropRates{0.9, 0.0}).tokens;
        QVERIFY(torch::isfinite(pathOnly).all().item<bool>());
        WSSS_VERIFY_THROWS_WITH(vit->forward(x, {}, vision::DropRates{1.0, 0.0}), "drop-path rate");
        WSSS_VERIFY_THROWS_WITH(vit->forward(x, {}, vision::DropRates{0.0, -0.1}), "dropout rate");
    }
};

QTEST_APPLESS_MAIN(TestVitFamily)
#include "test_vit_family.moc"
