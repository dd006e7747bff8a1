// ViT backbone: shapes, attention capture, the forward in pieces, position-embedding interpolation; CAM and pooling.
#include "support/tensor_compare.h"
#include "vision/backbones/backbone_registry.h"
#include "vision/backbones/vit.h"
#include "vision/maps/cam.h"

#include <torch/torch.h>

using namespace wsss;

class TestVit : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init() { torch::manual_seed(0); }

    void outputShapes_data()
    {
        QTest::addColumn<QString>("preset");
        QTest::addColumn<int>("height");
        QTest::addColumn<int>("width");
        QTest::newRow("test preset at its size") << "vit_test_patch8" << 64 << 64;
        QTest::newRow("test preset, other aspect") << "vit_test_patch8" << 48 << 96;
        QTest::newRow("demo preset at 128") << "vit_demo_patch8" << 128 << 128;
        QTest::newRow("demo preset at 64") << "vit_demo_patch8" << 64 << 64;
    }

    void outputShapes()
    {
        QFETCH(QString, preset);
        QFETCH(int, height);
        QFETCH(int, width);
        vision::VisionTransformer vit(vision::vitPreset(preset.toStdString()));
        vit->eval();
        torch::NoGradGuard noGrad;
        auto out = vit(torch::randn({2, 3, height, width}), vision::CaptureRequest::allAttention());
        const auto &c = vit->config();
        const int gh = height / c.patchSize, gw = width / c.patchSize;
        const int tokens = 1 + gh * gw;
        QCOMPARE(out.gridHeight, gh);
        QCOMPARE(out.gridWidth, gw);
        QCOMPARE(out.tokens.sizes().vec(), (std::vector<int64_t>{2, tokens, c.embedDim}));
        QCOMPARE(out.patchFeatures().sizes().vec(), (std::vector<int64_t>{2, c.embedDim, gh, gw}));
        QCOMPARE(static_cast<int>(out.attention.size()), c.depth);
        for (const auto &a : out.attention) {
            QCOMPARE(a.sizes().vec(), (std::vector<int64_t>{2, c.heads, tokens, tokens}));
            // Every attention row is a distribution over the tokens.
            WSSS_VERIFY_CLOSE(a.sum(-1), torch::ones({2, c.heads, tokens}), 1e-5);
            QVERIFY(a.min().item<float>() >= 0.0f);
        }
    }

    void captureIsSelective()
    {
        vision::VisionTransformer vit(vision::vitPreset("vit_test_patch8"));
        torch::NoGradGuard noGrad;
        auto x = torch::randn({1, 3, 64, 64});
        auto none = vit(x);
        QVERIFY(none.attention.empty());
        auto last = vit(x, vision::CaptureRequest{true, {-1}});
        QCOMPARE(last.capturedLayers, std::vector<int>{vit->config().depth - 1});
        // Capture must not change the features.
        WSSS_VERIFY_CLOSE(none.tokens, last.tokens, 1e-6);
    }

    void forwardInPieces()
    {
        // embed + blocks in two runs + final norm is the forward; preNormTokens is what the norm read.
        vision::VisionTransformer vit(vision::vitPreset("vit_test_patch8"));
        vit->eval();
        torch::NoGradGuard noGrad;
        auto x = torch::randn({2, 3, 64, 48});
        auto whole = vit(x, vision::CaptureRequest::allAttention());
        WSSS_VERIFY_CLOSE(vit->finalNorm(whole.preNormTokens), whole.tokens, 1e-6);
        QVERIFY((whole.preNormTokens - whole.tokens).abs().max().item<float>() > 1e-3);
        vision::BackboneOutput pieces;
        auto tokens = vit->embed(x, pieces);
        QCOMPARE(pieces.gridHeight, std::int64_t{8});
        QCOMPARE(pieces.gridWidth, std::int64_t{6});
        tokens = vit->forwardBlocks(tokens, 0, 1, vision::CaptureRequest::none(), pieces);
        tokens = vit->forwardBlocks(tokens, 1, vit->config().depth, vision::CaptureRequest::allAttention(), pieces);
        WSSS_VERIFY_CLOSE(tokens, whole.preNormTokens, 1e-6);
        QCOMPARE(pieces.capturedLayers, std::vector<int>{1});
        WSSS_VERIFY_CLOSE(pieces.attention[0], whole.attention[1], 1e-6);
        WSSS_VERIFY_THROWS_WITH(vit->forwardBlocks(tokens, 1, 3, vision::CaptureRequest::none(), pieces), "blocks [1, 3)");
    }

    void patchPositionMatters()
    {
        // The position embedding is interpolated, not ignored: moving content moves features.
        vision::VisionTransformer vit(vision::vitPreset("vit_test_patch8"));
        torch::NoGradGuard noGrad;
        auto pos = vit->positionEmbedding(4, 6);
        QCOMPARE(pos.sizes().vec(), (std::vector<int64_t>{1, 1 + 24, vit->config().embedDim}));
        auto same = vit->positionEmbedding(8, 8);
        WSSS_VERIFY_CLOSE(same, vit->named_parameters()["pos_embed"], 0.0);
    }

    void rejectsBadInput()
    {
        vision::VisionTransformer vit(vision::vitPreset("vit_test_patch8"));
        WSSS_VERIFY_THROWS_WITH(vit(torch::randn({1, 3, 60, 64})), "not a multiple of the patch size");
        WSSS_VERIFY_THROWS_WITH(vision::vitPreset("vit_huge_patch99"), "unknown backbone");
    }

    void camOnHandMadeFeatures()
    {
        // Two channels, two classes: class 0 reads channel 0, class 1 reads 2×channel 1 − channel 0.
        auto f = torch::zeros({1, 2, 2, 3});
        f[0][0] = torch::tensor({{1.0f, 0.0f, 2.0f}, {0.0f, 0.0f, 0.0f}});
        f[0][1] = torch::tensor({{0.0f, 1.0f, 0.0f}, {0.0f, 3.0f, 0.0f}});
        auto w = torch::tensor({{1.0f, 0.0f}, {-1.0f, 2.0f}});
        auto cam = vision::classActivationMaps(f, w);
        auto expected0 = torch::tensor({{1.0f, 0.0f, 2.0f}, {0.0f, 0.0f, 0.0f}});
        auto expected1 = torch::tensor({{-1.0f, 2.0f, -2.0f}, {0.0f, 6.0f, 0.0f}});
        WSSS_VERIFY_CLOSE(cam[0][0], expected0, 1e-6);
        WSSS_VERIFY_CLOSE(cam[0][1], expected1, 1e-6);
        // ReLU + division by the per-class maximum.
        auto n = vision::normalizeMaps(cam, 0.0);
        WSSS_VERIFY_CLOSE(n[0][0], expected0 / 2.0, 1e-6);
        WSSS_VERIFY_CLOSE(n[0][1], torch::tensor({{0.0f, 2.0f / 6, 0.0f}, {0.0f, 1.0f, 0.0f}}), 1e-6);
    }

    void pooling()
    {
        auto f = torch::arange(8, torch::kFloat).reshape({1, 2, 2, 2}); // ch0: 0..3, ch1: 4..7
        WSSS_VERIFY_CLOSE(vision::globalPool(f, vision::Pooling::Max), torch::tensor({{3.0f, 7.0f}}), 1e-6);
        WSSS_VERIFY_CLOSE(vision::globalPool(f, vision::Pooling::Average), torch::tensor({{1.5f, 5.5f}}), 1e-6);
        WSSS_VERIFY_CLOSE(vision::globalPool(f, vision::Pooling::TopK, 0.5), torch::tensor({{2.5f, 6.5f}}), 1e-6);
    }
};

QTEST_APPLESS_MAIN(TestVit)
#include "test_vit.moc"
