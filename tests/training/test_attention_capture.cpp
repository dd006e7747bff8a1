// Long sequences keep queries and keys instead of every block's full attention matrix, and a
// query's row computed from them equals the row of the full matrix.
#include "support/tensor_compare.h"
#include "training/data/demo_generator.h"
#include "training/methods/inference.h"
#include "training/methods/method_registry.h"

#include <torch/torch.h>

using namespace wsss;
using namespace wsss::training;

class TestAttentionCapture : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void shortSequencesKeepProbabilities()
    {
        auto method = createMethod({"cam", "vit_test_patch8", 10});
        method->eval();
        torch::NoGradGuard noGrad;
        auto out = method->infer(torch::randn({1, 3, 64, 64}), true, {});
        QCOMPARE(static_cast<int>(out.attention.size()), 2);
        QVERIFY(out.queries.empty() && out.keys.empty());
    }

    void longSequencesKeepQueriesAndKeys()
    {
        torch::manual_seed(11);
        auto method = createMethod({"cam", "vit_test_patch8", 10});
        method->eval();
        torch::NoGradGuard noGrad;
        const auto x = torch::randn({1, 3, 264, 264}); // 33 × 33 patches + 1 = 1090 tokens
        auto out = method->infer(x, true, {});
        QVERIFY(out.attention.empty());
        QCOMPARE(static_cast<int>(out.queries.size()), 2);
        QCOMPARE(out.keys.front().sizes().vec(), (std::vector<std::int64_t>{2, 1090, 16}));

        // Rows from queries and keys against the full matrices of the same forward.
        auto full = method->backbone().forward(x, vision::CaptureRequest::allAttention());
        for (int block = 0; block < 2; ++block) {
            AttentionLayer layer;
            const auto q = out.queries[block].contiguous(), k = out.keys[block].contiguous();
            layer.heads = 2;
            layer.tokens = 1090;
            layer.headDim = 16;
            layer.scale = static_cast<float>(out.attentionScale);
            layer.queries.assign(q.data_ptr<float>(), q.data_ptr<float>() + q.numel());
            layer.keys.assign(k.data_ptr<float>(), k.data_ptr<float>() + k.numel());
            for (int query : {0, 1, 545, 1089}) {
                const auto probs = full.attention[block][0];
                for (int head : {0, 1}) {
                    auto row = layer.row(query, head);
                    WSSS_VERIFY_CLOSE(torch::tensor(row), probs[head][query], 1e-5);
                }
                WSSS_VERIFY_CLOSE(torch::tensor(layer.row(query)), probs.select(1, query).mean(0), 1e-5);
            }
        }
    }
};

QTEST_MAIN(TestAttentionCapture)
#include "test_attention_capture.moc"
