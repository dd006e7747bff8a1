// The Backbone interface over both families: a ViT and MiT answer the same forward, describe
// themselves through info(), and MiT's stage maps, tokens and captured logits agree with its own
// stage forward; methods hold any Backbone, and a method that needs a ViT says so for MiT.
#include "support/tensor_compare.h"
#include "training/methods/method_registry.h"
#include "vision/backbones/backbone_registry.h"
#include "vision/backbones/mit.h"
#include "vision/core/error.h"

#include <torch/torch.h>

#include <QTest>

#include <cmath>

using namespace wsss;

class TestBackboneInterface : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void bothFamiliesAnswerTheSameForward()
    {
        torch::manual_seed(0);
        for (const std::string name : {"vit_demo_patch8", "mit_b0"}) {
            auto backbone = vision::makeBackbone(name);
            backbone->eval();
            const auto info = backbone->info();
            QCOMPARE(info.name, name);
            const auto x = torch::randn({2, 3, 64, 64});
            const auto out = backbone->forward(x);
            QCOMPARE(out.gridHeight, std::int64_t(64 / info.stride));
            QCOMPARE(out.gridWidth, std::int64_t(64 / info.stride));
            QCOMPARE(out.prefixTokens, info.prefixTokens);
            QCOMPARE(out.patchFeatures().sizes().vec(), (std::vector<std::int64_t>{2, info.channels, 64 / info.stride, 64 / info.stride}));
            QCOMPARE(out.stages.size(), info.stageChannels.size());
        }
    }

    void mitTokensAndLogitsAreItsLastStage()
    {
        torch::manual_seed(1);
        auto mit = std::make_shared<vision::MixTransformerImpl>(vision::mitPreset("mit_b0"));
        mit->eval();
        torch::NoGradGuard noGrad;
        const auto x = torch::randn({1, 3, 64, 96});
        vision::MitRequest stagesRequest;
        stagesRequest.lastStageLogits = true;
        const auto stages = mit->forwardStages(x, stagesRequest);
        vision::CaptureRequest capture;
        capture.logits = capture.attention = true;
        const auto out = mit->forward(x, capture);
        QCOMPARE(out.stages.size(), std::size_t(4));
        WSSS_VERIFY_CLOSE(out.patchFeatures(), stages.features.back(), 1e-6);
        const auto info = mit->info();
        QCOMPARE(int(out.logits.size()), info.affinityBlocks);
        QCOMPARE(out.capturedLayers.back(), mit->config().totalDepth() - 1);
        const double scale = 1.0 / std::sqrt(double(info.headDim));
        WSSS_VERIFY_CLOSE(out.logits.back(), stages.attentionLogits.back() * scale, 1e-5);
        WSSS_VERIFY_CLOSE(out.attention.back(), out.logits.back().softmax(-1), 1e-6);
        QCOMPARE(info.depth, 0); // the studio's per-block views are a ViT's
    }

    void methodsHoldAnyBackbone()
    {
        training::MethodSpec spec;
        spec.method = "cam";
        spec.backbone = "mit_b0";
        spec.numClasses = 3;
        auto cam = training::createMethod(spec);
        QCOMPARE(cam->backboneInfo().name, std::string("mit_b0"));
        QVERIFY(!cam->vit());
        training::Batch batch;
        batch.images = torch::randn({2, 3, 64, 64});
        batch.labels = torch::tensor({1.0f, 0.0f, 1.0f, 0.0f, 1.0f, 0.0f}).view({2, 3});
        cam->train();
        const auto loss = cam->trainStep(batch).total();
        QVERIFY(std::isfinite(loss.item<double>()));

        spec.method = "acr"; // its class token and blocks run one by one: a ViT only
        try {
            training::createMethod(spec);
            QFAIL("acr on mit_b0 was accepted");
        } catch (const Error &e) {
            QVERIFY2(QString::fromUtf8(e.what()).contains(QStringLiteral("needs a ViT backbone")), e.what());
        }
    }
};

QTEST_APPLESS_MAIN(TestBackboneInterface)
#include "test_backbone_interface.moc"
