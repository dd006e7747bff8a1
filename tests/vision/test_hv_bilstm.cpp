// ViT-PCM's HV-BiLSTM against an independent PyTorch reference (tests/fixtures/hv_bilstm): Keras
// weights mapped into LibTorch's LSTM, output layout, row/column independence, Keras' init and
// single bias, and both dropouts (train mode only; the LSTM input mask per sequence and direction).
#include "support/tensor_compare.h"
#include "vision/backbones/hv_bilstm.h"
#include "vision/weights/load_weights.h"
#include "vision/weights/safetensors.h"

#include <torch/torch.h>
#include <wsss/source_paths.h>

using namespace wsss;

namespace {

std::string fixture(const std::string &name)
{
    return std::string(WSSS_SOURCE_DIR) + "/tests/fixtures/hv_bilstm/" + name + ".safetensors";
}

// The reference script's sizes: E = 5, 3 units per direction.
vision::HvBiLstmConfig tinyConfig(double dropout = 0.0, double lstmDropout = 0.0)
{
    vision::HvBiLstmConfig c;
    c.inDim = 5;
    c.hidden = 3;
    c.dropout = dropout;
    c.lstmDropout = lstmDropout;
    return c;
}

std::int64_t trainableCount(torch::nn::Module &m)
{
    std::int64_t n = 0;
    for (const auto &p : m.parameters())
        if (p.requires_grad())
            n += p.numel();
    return n;
}

} // namespace

class TestHvBiLstm : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init() { torch::manual_seed(0); }

    void kerasWeightsMatchReference()
    {
        vision::HvBiLstm hv(tinyConfig(0.2, 0.2));
        const auto weights = vision::readSafetensors(fixture("weights")).tensors;
        vision::loadStateDict(*hv, vision::hvBiLstmFromKeras(weights, "weights.safetensors"), "weights.safetensors");
        hv->eval();
        torch::NoGradGuard noGrad;
        const auto io = vision::readSafetensors(fixture("io")).tensors;
        WSSS_VERIFY_CLOSE(hv(io.at("input")), io.at("output"), 1e-5);
    }

    void outputShapeAndOfficialSize()
    {
        vision::HvBiLstm hv(vision::HvBiLstmConfig{}); // ViT-S/16: E = 384, 192 units
        QCOMPARE(hv->config().outDim(), 768);
        // methods/vitpcm.md §3: 1,772,544 parameters for E = 384 (one bias per LSTM, as Keras).
        QCOMPARE(trainableCount(*hv), std::int64_t{1772544});
        const auto params = hv->named_parameters();
        for (const std::string key : {"horizontal.weight_ih_l0", "horizontal.bias_ih_l0_reverse", "vertical.weight_hh_l0",
                                      "vertical.bias_hh_l0_reverse"})
            QVERIFY2(params.contains(key), key.c_str());
        hv->eval();
        torch::NoGradGuard noGrad;
        const auto out = hv(torch::randn({2, 3, 4, 384}));
        QCOMPARE(out.sizes().vec(), (std::vector<std::int64_t>{2, 3, 4, 768}));
        WSSS_VERIFY_THROWS_WITH(hv(torch::randn({2, 384, 3, 4})), "expected [B, h, w, 384]");
    }

    void rowsAndColumnsAreIndependent()
    {
        vision::HvBiLstm hv(tinyConfig());
        hv->eval();
        torch::NoGradGuard noGrad;
        const auto x = torch::randn({2, 4, 6, 5});
        auto y = x.clone();
        y.index_put_({1, 2, 3}, torch::randn({5})); // image 1, row 2, column 3
        const auto a = hv(x), b = hv(y);
        const auto changed = (a - b).abs().gt(0);  // [B, h, w, 12]
        const auto rowsHalf = changed.slice(3, 0, 6).any(3), colsHalf = changed.slice(3, 6, 12).any(3);
        auto expectRows = torch::zeros({2, 4, 6}, torch::kBool);
        expectRows.index_put_({1, 2}, true); // the whole row: forward after, backward before column 3
        auto expectCols = torch::zeros({2, 4, 6}, torch::kBool);
        expectCols.index_put_({1, torch::indexing::Slice(), 3}, true);
        QVERIFY(torch::equal(rowsHalf, expectRows));
        QVERIFY(torch::equal(colsHalf, expectCols));
    }

    void kerasInitialisation()
    {
        vision::HvBiLstm hv(vision::HvBiLstmConfig{16, 4, 0.2, 0.2});
        const auto params = hv->named_parameters();
        for (const std::string lstm : {"horizontal.", "vertical."})
            for (const std::string suffix : {"_l0", "_l0_reverse"}) {
                const auto bias = params[lstm + "bias_ih" + suffix];
                auto expected = torch::zeros({16});
                expected.slice(0, 4, 8).fill_(1.0); // forget gate (i, f, g, o)
                QVERIFY(torch::equal(bias, expected));
                const auto second = params[lstm + "bias_hh" + suffix];
                QVERIFY(torch::equal(second, torch::zeros({16})));
                QVERIFY(!second.requires_grad());
                const auto w = params[lstm + "weight_hh" + suffix].detach(); // [4H, H], orthonormal columns
                WSSS_VERIFY_CLOSE(w.t().mm(w), torch::eye(4), 1e-5);
                const double limit = std::sqrt(6.0 / (16 + 16)); // Glorot: fan_in E, fan_out 4H
                QVERIFY(params[lstm + "weight_ih" + suffix].abs().max().item<double>() <= limit);
            }
        hv->train();
        hv(torch::randn({1, 2, 3, 16})).sum().backward();
        QVERIFY(params["horizontal.bias_ih_l0"].grad().defined());
        QVERIFY(!params["horizontal.bias_hh_l0"].grad().defined());
    }

    void dropoutOnlyInTrainMode_data()
    {
        QTest::addColumn<double>("dropout");
        QTest::addColumn<double>("lstmDropout");
        QTest::newRow("grid dropout") << 0.3 << 0.0;
        QTest::newRow("lstm input dropout") << 0.0 << 0.3;
        QTest::newRow("both") << 0.2 << 0.2;
    }

    void dropoutOnlyInTrainMode()
    {
        QFETCH(double, dropout);
        QFETCH(double, lstmDropout);
        vision::HvBiLstm hv(tinyConfig(dropout, lstmDropout));
        torch::NoGradGuard noGrad;
        const auto x = torch::randn({2, 4, 6, 5});
        hv->eval();
        const auto reference = hv(x);
        QVERIFY(torch::equal(hv(x), reference));
        hv->train();
        const auto a = hv(x), b = hv(x);
        QVERIFY(!torch::allclose(a, reference));
        QVERIFY(!torch::allclose(a, b));

        vision::HvBiLstm plain(tinyConfig());
        plain->eval();
        const auto evalOut = plain(x);
        plain->train();
        QVERIFY(torch::equal(plain(x), evalOut));
    }

    // Keras draws one input mask per sequence, reused at every step, and one per direction of
    // the Bidirectional wrapper: each row's forward (backward) output is then the LSTM's output
    // on the whole row either dropped or kept and rescaled, never a mixture of steps.
    void lstmInputMaskIsPerSequenceAndDirection()
    {
        auto config = tinyConfig(0.0, 0.5);
        config.inDim = 1;
        vision::HvBiLstm hv(config);
        torch::NoGradGuard noGrad;
        const int rows = 64;
        const auto row = torch::rand({1, 1, 7, 1}) + 0.5; // no zero entries
        const auto x = row.expand({1, rows, 7, 1}).contiguous();
        hv->eval();
        const auto kept = hv(x / 0.5).slice(3, 0, 6)[0][0]; // [7, 6]: the row kept, scaled by 1/keep
        const auto dropped = hv(torch::zeros_like(x)).slice(3, 0, 6)[0][0];
        hv->train();
        const auto out = hv(x).slice(3, 0, 6)[0]; // [rows, 7, 6]
        int combos[2][2] = {{0, 0}, {0, 0}};
        for (int r = 0; r < rows; ++r) {
            int state[2];
            for (int dir = 0; dir < 2; ++dir) {
                const auto got = out[r].slice(1, 3 * dir, 3 * dir + 3);
                const bool isKept = torch::allclose(got, kept.slice(1, 3 * dir, 3 * dir + 3), 1e-5, 1e-6);
                const bool isDropped = torch::allclose(got, dropped.slice(1, 3 * dir, 3 * dir + 3), 1e-5, 1e-6);
                QVERIFY2(isKept != isDropped, ("row " + std::to_string(r) + " direction " + std::to_string(dir)).c_str());
                state[dir] = isKept ? 1 : 0;
            }
            ++combos[state[0]][state[1]];
        }
        // Separate masks per direction: with 64 rows every combination turns up.
        QVERIFY(combos[0][1] > 0 && combos[1][0] > 0 && combos[0][0] > 0 && combos[1][1] > 0);
    }

    void kerasNamesAreStrict()
    {
        auto weights = vision::readSafetensors(fixture("weights")).tensors;
        auto missing = weights;
        missing.erase("vertical/backward/recurrent_kernel");
        WSSS_VERIFY_THROWS_WITH(vision::hvBiLstmFromKeras(missing, "w.h5"), "vertical/backward/recurrent_kernel");
        auto extra = weights;
        extra["classifier/kernel"] = torch::zeros({12, 21});
        WSSS_VERIFY_THROWS_WITH(vision::hvBiLstmFromKeras(extra, "w.h5"), "unexpected tensors: classifier/kernel");
        auto wrong = weights;
        wrong["horizontal/forward/bias"] = torch::zeros({11});
        WSSS_VERIFY_THROWS_WITH(vision::hvBiLstmFromKeras(wrong, "w.h5"), "horizontal/forward/");
        WSSS_VERIFY_THROWS_WITH((void)vision::HvBiLstm(tinyConfig(1.0, 0.0)), "dropout");
    }
};

QTEST_APPLESS_MAIN(TestHvBiLstm)
#include "test_hv_bilstm.moc"
