// MiT encoder and SegFormer head: parity with the independent Python reference
// (tests/fixtures/mit_reference.py) under both weight namings, stage sizes for either last
// stride, attention-logit capture, drop-path, presets, and load errors that name the tensor.
#include "support/tensor_compare.h"
#include "vision/backbones/mit.h"
#include "vision/heads/segformer_head.h"
#include "vision/weights/load_weights.h"
#include "vision/weights/mit_key_maps.h"
#include "vision/weights/safetensors.h"

#include <torch/torch.h>

#include <cmath>
#include <wsss/source_paths.h>

using namespace wsss;

namespace {

std::string fixture(const std::string &name)
{
    return std::string(WSSS_SOURCE_DIR) + "/tests/fixtures/mit_tiny/" + name;
}

// The configuration tests/fixtures/mit_reference.py calls "mit_tiny".
vision::MitConfig tinyConfig(int lastStride)
{
    vision::MitConfig c;
    c.name = "mit_tiny";
    c.widths = {8, 16, 24, 32};
    c.depths = {1, 1, 1, 2};
    c.heads = {1, 1, 2, 2};
    c.srRatios = {4, 2, 2, 1};
    c.lastStride = lastStride;
    return c;
}

std::vector<int64_t> shape(const torch::Tensor &t) { return t.sizes().vec(); }

} // namespace

class TestMit : public QObject {
    Q_OBJECT

    std::map<std::string, torch::Tensor> m_io;

private Q_SLOTS:
    void initTestCase() { m_io = vision::readSafetensors(fixture("io.safetensors")).tensors; }
    void init() { torch::manual_seed(0); }

    void matchesReference_data()
    {
        QTest::addColumn<QString>("file");
        QTest::addColumn<int>("lastStride");
        QTest::addColumn<bool>("huggingFace");
        QTest::newRow("hugging face names, stride 2") << "weights_hf.safetensors" << 2 << true;
        QTest::newRow("hugging face names, stride 1") << "weights_hf.safetensors" << 1 << true;
        QTest::newRow("official names, stride 2") << "weights_official.safetensors" << 2 << false;
        QTest::newRow("official names, stride 1") << "weights_official.safetensors" << 1 << false;
    }

    void matchesReference()
    {
        QFETCH(QString, file);
        QFETCH(int, lastStride);
        QFETCH(bool, huggingFace);
        vision::MixTransformer mit(tinyConfig(lastStride));
        const auto loaded = vision::loadMitWeights(*mit, fixture(file.toStdString()));
        QVERIFY(loaded.naming == (huggingFace ? vision::MitNaming::HuggingFace : vision::MitNaming::Official));
        // The ImageNet classifier is left out with a note, not an error.
        QCOMPARE(loaded.ignored.size(), std::size_t(2));
        QVERIFY(loaded.note().find(huggingFace ? "classifier.weight" : "head.weight") != std::string::npos);

        mit->eval();
        torch::NoGradGuard noGrad;
        vision::MitRequest request;
        request.lastStageLogits = true;
        auto out = mit->forwardStages(m_io.at("input").to(torch::kFloat), request);
        const std::string tag = "stride" + std::to_string(lastStride) + ".";
        QCOMPARE(out.features.size(), std::size_t(4));
        for (int i = 0; i < 4; ++i)
            WSSS_VERIFY_CLOSE(out.features[i], m_io.at(tag + "features" + std::to_string(i + 1)), 1e-4);
        QCOMPARE(out.attentionLogits.size(), std::size_t(2));
        for (int i = 0; i < 2; ++i)
            WSSS_VERIFY_CLOSE(out.attentionLogits[i], m_io.at(tag + "logits" + std::to_string(i)), 1e-4);
    }

    void keyRowsComeFirstInKv()
    {
        // Swapping Hugging Face's key and value of one block must change the result: the rows of
        // kv are k then v, and the parity above depends on it.
        auto hf = vision::readSafetensors(fixture("weights_hf.safetensors")).tensors;
        std::swap(hf.at("segformer.encoder.block.3.0.attention.self.key.weight"),
                  hf.at("segformer.encoder.block.3.0.attention.self.value.weight"));
        vision::MixTransformer mit(tinyConfig(1));
        vision::loadMitWeights(*mit, hf, "swapped.safetensors");
        mit->eval();
        torch::NoGradGuard noGrad;
        vision::MitRequest request;
        request.lastStageLogits = true;
        auto out = mit->forwardStages(m_io.at("input").to(torch::kFloat), request);
        QVERIFY(!torch::allclose(out.attentionLogits[0], m_io.at("stride1.logits0"), 1e-3, 1e-3));
    }

    void stageSizes_data()
    {
        QTest::addColumn<QString>("preset");
        QTest::addColumn<int>("lastStride");
        QTest::addColumn<int>("height");
        QTest::addColumn<int>("width");
        QTest::addColumn<int>("lastHeight");
        QTest::addColumn<int>("lastWidth");
        // Each stage is ceil(size / stride): 61×47 → 16×12, 8×6, 4×3, then 2×2 or 4×3.
        QTest::newRow("tiny, official stride") << "tiny" << 2 << 61 << 47 << 2 << 2;
        QTest::newRow("tiny, AFA stride") << "tiny" << 1 << 61 << 47 << 4 << 3;
        QTest::newRow("mit_b0 at 96, stride 2") << "mit_b0" << 2 << 96 << 96 << 3 << 3;
        QTest::newRow("mit_b0 at 96, stride 1") << "mit_b0" << 1 << 96 << 96 << 6 << 6;
        // afa.md §3.1: a 500×375 image gives a 32×24 stage-4 grid at stride 16 (scaled by 1/4 here).
        QTest::newRow("mit_b0 at 125×94, stride 1") << "mit_b0" << 1 << 125 << 94 << 8 << 6;
    }

    void stageSizes()
    {
        QFETCH(QString, preset);
        QFETCH(int, lastStride);
        QFETCH(int, height);
        QFETCH(int, width);
        QFETCH(int, lastHeight);
        QFETCH(int, lastWidth);
        auto config = preset == "tiny" ? tinyConfig(lastStride) : vision::mitPreset(preset.toStdString());
        config.lastStride = lastStride;
        vision::MixTransformer mit(config);
        mit->eval();
        torch::NoGradGuard noGrad;
        auto out = mit->forwardStages(torch::randn({2, 3, height, width}));
        QCOMPARE(out.features.size(), std::size_t(4));
        QVERIFY(out.attentionLogits.empty());
        for (int s = 0; s < 4; ++s) {
            const int stride = config.outputStride(s);
            const int h = (height + stride - 1) / stride, w = (width + stride - 1) / stride;
            QCOMPARE(shape(out.features[s]), (std::vector<int64_t>{2, config.widths[s], h, w}));
        }
        QCOMPARE(out.features[3].size(2), lastHeight);
        QCOMPARE(out.features[3].size(3), lastWidth);
        QCOMPARE(config.outputStride(3), lastStride == 1 ? 16 : 32);
    }

    void logitsCapture()
    {
        vision::MixTransformer mit(vision::mitPreset("mit_b0"));
        mit->eval();
        torch::NoGradGuard noGrad;
        auto x = torch::randn({2, 3, 128, 96});
        auto plain = mit->forwardStages(x);
        vision::MitRequest request;
        request.lastStageLogits = true;
        auto captured = mit->forwardStages(x, request);
        // Capture must not change the features.
        for (int s = 0; s < 4; ++s)
            WSSS_VERIFY_CLOSE(captured.features[s], plain.features[s], 1e-5);
        // One entry per stage-4 block: [B, heads, N, N] with N = 4×3 tokens (sr 1).
        QCOMPARE(captured.attentionLogits.size(), std::size_t(2));
        for (const auto &l : captured.attentionLogits)
            QCOMPARE(shape(l), (std::vector<int64_t>{2, 8, 12, 12}));
        // Each block keeps its own logits.
        QVERIFY(!torch::allclose(captured.attentionLogits[0], captured.attentionLogits[1]));
    }

    void presetsMatchTheDocs()
    {
        vision::MixTransformer b1(vision::mitPreset("mit_b1"));
        const auto state = vision::stateDict(*b1);
        // afa.md §3.1 and §3.3: the MiT-B1 encoder has 13,151,424 parameters in 176 tensors.
        std::int64_t count = 0;
        for (const auto &[name, t] : state)
            count += t.numel();
        QCOMPARE(static_cast<int>(state.size()), 176);
        QCOMPARE(count, std::int64_t(13151424));
        QCOMPARE(shape(state.at("block1.0.attn.sr.weight")), (std::vector<int64_t>{64, 64, 8, 8}));
        QCOMPARE(shape(state.at("block4.1.attn.kv.weight")), (std::vector<int64_t>{1024, 512}));
        QCOMPARE(shape(state.at("block4.1.mlp.dwconv.dwconv.weight")), (std::vector<int64_t>{2048, 1, 3, 3}));
        QVERIFY(!state.count("block4.0.attn.sr.weight"));
        QCOMPARE(shape(state.at("patch_embed1.proj.weight")), (std::vector<int64_t>{64, 3, 7, 7}));
        QCOMPARE(vision::mitBackboneNames(), (std::vector<std::string>{"mit_b0", "mit_b1"}));
        WSSS_VERIFY_THROWS_WITH(vision::mitPreset("mit_b9"), "unknown MiT backbone \"mit_b9\" (known: mit_b0, mit_b1)");
        // afa.md §3.1: drop-path 0.1, linear over the 8 blocks.
        const auto rates = b1->dropPathRates(0.1);
        QCOMPARE(rates.size(), std::size_t(8));
        QVERIFY(std::abs(rates[1] - 0.014286) < 1e-6 && std::abs(rates[7] - 0.1) < 1e-12 && rates[0] == 0.0);
    }

    void everyKeyHasAHuggingFaceName()
    {
        // The map is explicit both ways: each project key names a Hugging Face tensor, and a file
        // written under those names loads back into the same values.
        vision::MixTransformer mit(vision::mitPreset("mit_b0"));
        std::map<std::string, torch::Tensor> hf;
        for (const auto &[name, t] : vision::stateDict(*mit)) {
            const auto hfName = vision::hfMitName(name);
            QVERIFY2(hfName.rfind("encoder.", 0) == 0, name.c_str());
            const auto plus = hfName.find(" + ");
            if (plus == std::string::npos) {
                hf["segformer." + hfName] = t.clone();
            } else { // kv: the first half of the rows is k
                hf["segformer." + hfName.substr(0, plus)] = t.chunk(2, 0)[0].clone();
                hf["segformer." + hfName.substr(plus + 3)] = t.chunk(2, 0)[1].clone();
            }
        }
        QCOMPARE(vision::hfMitName("block2.1.attn.proj.bias"), std::string("encoder.block.1.1.attention.output.dense.bias"));
        QCOMPARE(vision::hfMitName("norm3.weight"), std::string("encoder.layer_norm.2.weight"));
        QCOMPARE(vision::hfMitName("patch_embed4.norm.bias"), std::string("encoder.patch_embeddings.3.layer_norm.bias"));
        vision::MixTransformer other(vision::mitPreset("mit_b0"));
        vision::loadMitWeights(*other, hf, "hf.safetensors");
        const auto a = vision::stateDict(*mit), b = vision::stateDict(*other);
        for (const auto &[name, t] : a)
            QVERIFY2(torch::equal(t, b.at(name)), name.c_str());
        // Without the "segformer." prefix (a bare SegformerModel) too.
        std::map<std::string, torch::Tensor> bare;
        for (const auto &[name, t] : hf)
            bare[name.substr(std::string("segformer.").size())] = t;
        QCOMPARE(vision::mapMitWeights(bare, "bare").tensors.size(), a.size());
    }

    void loadErrorsNameTheTensor()
    {
        const auto hf = vision::readSafetensors(fixture("weights_hf.safetensors")).tensors;
        const auto official = vision::readSafetensors(fixture("weights_official.safetensors")).tensors;
        vision::MixTransformer mit(tinyConfig(1));

        auto wrong = hf;
        wrong["segformer.encoder.block.3.1.attention.self.query.weight"] = torch::zeros({4, 4});
        WSSS_VERIFY_THROWS_WITH(vision::loadMitWeights(*mit, wrong, "hf.safetensors"),
                                "weights \"hf.safetensors\": tensor \"segformer.encoder.block.3.1.attention.self.query.weight "
                                "(block4.1.attn.q.weight)\" has shape [4, 4], expected [32, 32]");

        auto missing = hf;
        missing.erase("segformer.encoder.layer_norm.3.bias");
        WSSS_VERIFY_THROWS_WITH(vision::loadMitWeights(*mit, missing, "hf.safetensors"),
                                "missing tensors: segformer.encoder.layer_norm.3.bias (norm4.bias)");

        auto noValue = hf;
        noValue.erase("segformer.encoder.block.0.0.attention.self.value.weight");
        WSSS_VERIFY_THROWS_WITH(vision::loadMitWeights(*mit, noValue, "hf.safetensors"),
                                "\"segformer.encoder.block.0.0.attention.self.key.weight\" has no matching value tensor");

        auto extra = hf;
        extra["segformer.encoder.block.0.0.attention.self.extra.weight"] = torch::zeros({1});
        WSSS_VERIFY_THROWS_WITH(vision::loadMitWeights(*mit, extra, "hf.safetensors"),
                                "unexpected tensors: segformer.encoder.block.0.0.attention.self.extra.weight");

        auto wrongKv = official;
        wrongKv["block2.0.attn.kv.weight"] = torch::zeros({16, 16});
        WSSS_VERIFY_THROWS_WITH(vision::loadMitWeights(*mit, wrongKv, "o.safetensors"),
                                "tensor \"block2.0.attn.kv.weight\" has shape [16, 16], expected [32, 16]");

        auto missingOfficial = official;
        missingOfficial.erase("block1.0.attn.sr.bias");
        WSSS_VERIFY_THROWS_WITH(vision::loadMitWeights(*mit, missingOfficial, "o.safetensors"),
                                "missing tensors: block1.0.attn.sr.bias");

        // A ViT checkpoint is neither naming.
        const std::map<std::string, torch::Tensor> vit = {{"blocks.0.attn.qkv.weight", torch::zeros({1})}};
        WSSS_VERIFY_THROWS_WITH(vision::loadMitWeights(*mit, vit, "vit.safetensors"),
                                "weights \"vit.safetensors\": no MiT tensors");
        // The B1 preset cannot take the tiny weights.
        vision::MixTransformer b1(vision::mitPreset("mit_b1"));
        WSSS_VERIFY_THROWS_WITH(vision::loadMitWeights(*b1, fixture("weights_hf.safetensors")),
                                "tensor \"segformer.encoder.block.0.0.attention.self.key.bias + "
                                "segformer.encoder.block.0.0.attention.self.value.bias (block1.0.attn.kv.bias)\" "
                                "has shape [16], expected [128]");
    }

    void dropPathOnlyInTraining()
    {
        vision::MixTransformer mit(tinyConfig(1));
        vision::loadMitWeights(*mit, fixture("weights_hf.safetensors"));
        torch::NoGradGuard noGrad;
        auto x = torch::randn({4, 3, 61, 47});
        mit->eval();
        vision::MitRequest heavy;
        heavy.dropPathRate = 0.9;
        auto evaluated = mit->forwardStages(x, heavy).features[3];
        // Eval mode ignores the rate.
        WSSS_VERIFY_CLOSE(mit->forwardStages(x).features[3], evaluated, 1e-6);
        mit->train();
        vision::MitRequest off;
        off.dropPathRate = 0.0;
        WSSS_VERIFY_CLOSE(mit->forwardStages(x, off).features[3], evaluated, 1e-5);
        // Rate 0.9 on the last blocks drops residual branches of some samples.
        QVERIFY(!torch::allclose(mit->forwardStages(x, heavy).features[3], evaluated, 1e-4, 1e-4));
    }

    void headMatchesReference()
    {
        vision::SegformerHeadConfig config;
        config.inChannels = {8, 16, 24, 32};
        config.embedDim = 16;
        config.numClasses = 3;
        vision::SegformerHead head(config);
        vision::loadStateDict(*head, vision::readSafetensors(fixture("head.safetensors")).tensors, "head.safetensors");
        head->eval();
        torch::NoGradGuard noGrad;
        std::vector<torch::Tensor> features;
        for (int i = 1; i <= 4; ++i)
            features.push_back(m_io.at("stride1.features" + std::to_string(i)));
        auto logits = head(features);
        // [B, classes, stage-1 height, stage-1 width]
        QCOMPARE(shape(logits), (std::vector<int64_t>{2, 3, 16, 12}));
        WSSS_VERIFY_CLOSE(logits, m_io.at("head.output"), 1e-4);
    }

    void headOnMitB0()
    {
        // The decoder with AFA's defaults on MiT-B0: 21 classes at stride 4, and it trains (BN and dropout in train mode).
        vision::MixTransformer mit(vision::mitPreset("mit_b0"));
        vision::SegformerHeadConfig config;
        config.inChannels = mit->config().widths;
        vision::SegformerHead head(config);
        auto features = mit->forwardStages(torch::randn({2, 3, 64, 80})).features;
        auto logits = head(features);
        QCOMPARE(shape(logits), (std::vector<int64_t>{2, 21, 16, 20}));
        logits.mean().backward();
        QVERIFY(mit->named_parameters()["patch_embed1.proj.weight"].grad().defined());
        const auto state = vision::stateDict(*head);
        QVERIFY(state.count("linear_fuse.bn.running_var") && state.count("linear_c4.proj.weight"));
        QVERIFY(!state.count("linear_fuse.conv.bias"));
        WSSS_VERIFY_THROWS_WITH(head->forward({features[0], features[1], features[2]}), "expected 4 stage maps, got 3");
        WSSS_VERIFY_THROWS_WITH(head->forward({features[1], features[1], features[2], features[3]}),
                                "stage 1 map has shape [2, 64, 8, 10], expected [B, 32, h, w]");
    }

    void rejectsBadInput()
    {
        vision::MixTransformer mit(tinyConfig(2));
        WSSS_VERIFY_THROWS_WITH(mit->forwardStages(torch::randn({1, 1, 32, 32})), "expected input [B, 3, H, W]");
        auto bad = tinyConfig(3);
        WSSS_VERIFY_THROWS_WITH(vision::MixTransformer{bad}, "lastStride 3 must be 1 or 2");
        bad = tinyConfig(1);
        bad.heads[2] = 5;
        WSSS_VERIFY_THROWS_WITH(vision::MixTransformer{bad}, "stage 3: width 24 is not divisible by heads 5");
    }
};

QTEST_APPLESS_MAIN(TestMit)
#include "test_mit.moc"
