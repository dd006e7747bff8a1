// PAR (vision/refine/par.h) against the published constants of methods/afa.md §6 and against an
// independent Python reference (tests/fixtures/make_refine_fixtures.py), on both code paths.
#include "support/tensor_compare.h"
#include "vision/io/npy.h"
#include "vision/refine/par.h"

#include <QtTest/QtTest>

#include <torch/cuda.h>
#include <torch/torch.h>

#include <cmath>
#include <wsss/source_paths.h>

using namespace wsss::vision;

namespace {

torch::Tensor fixture(const std::string &name)
{
    const auto a = readNpy(std::string(WSSS_SOURCE_DIR) + "/tests/fixtures/refine/" + name + ".npy");
    return torch::tensor(a.data).view(a.shape);
}

// The formula fixture of afa.md §6: I[c,y,x] = ((3y + 5x + 7c) mod 11)/10, M[k,y,x] = ((y + 2x + k) mod 5)/4.
std::pair<torch::Tensor, torch::Tensor> formulaInputs()
{
    auto image = torch::empty({1, 3, 6, 7});
    auto maps = torch::empty({1, 2, 6, 7});
    for (int y = 0; y < 6; ++y)
        for (int x = 0; x < 7; ++x) {
            for (int c = 0; c < 3; ++c)
                image[0][c][y][x] = static_cast<float>((3 * y + 5 * x + 7 * c) % 11) / 10.0f;
            for (int k = 0; k < 2; ++k)
                maps[0][k][y][x] = static_cast<float>((y + 2 * x + k) % 5) / 4.0f;
        }
    return {image, maps};
}

} // namespace

class TestPar : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void init() { torch::manual_seed(0); }

    void positionTermMatchesPublishedWeights()
    {
        const auto pos = parPositionWeights({});
        QCOMPARE(pos.size(0), std::int64_t(48));
        QVERIFY(std::abs(pos[1].item<double>() - 0.07645338) < 1e-7); // d = 1, axial
        QVERIFY(std::abs(pos[0].item<double>() - 0.06825980) < 1e-7); // d = 1, diagonal
        QVERIFY(std::abs(pos[9].item<double>() - 0.05441287) < 1e-7); // d = 2, axial
        QVERIFY(std::abs(pos.sum().item<double>() - 1.0) < 1e-12);
    }

    void weightsSumTo101_data()
    {
        QTest::addColumn<bool>("tensorOps");
        QTest::newRow("cpu loop") << false;
        QTest::newRow("tensor ops") << true;
    }
    void weightsSumTo101()
    {
        QFETCH(bool, tensorOps);
        const auto image = torch::rand({2, 3, 17, 30});
        const auto kernel = tensorOps ? parKernelTensorOps(image, {}) : parKernel(image, {});
        QCOMPARE(kernel.sizes(), (torch::IntArrayRef{2, 48, 17, 30}));
        WSSS_VERIFY_CLOSE(kernel.sum(1), torch::full({2, 17, 30}, 1.01f), 1e-5);
        QVERIFY(kernel.min().item<float>() >= 0.0f);
    }

    void constantMapGrowsBy101PerIteration_data()
    {
        QTest::addColumn<bool>("tensorOps");
        QTest::newRow("cpu loop") << false;
        QTest::newRow("tensor ops") << true;
    }
    void constantMapGrowsBy101PerIteration()
    {
        QFETCH(bool, tensorOps);
        const auto image = torch::rand({1, 3, 20, 23});
        auto maps = torch::empty({1, 2, 20, 23});
        maps[0][0].fill_(0.3f);
        maps[0][1].fill_(0.7f);
        ParConfig config; // 10 iterations
        const auto kernel = parKernel(image, config);
        const auto out = tensorOps ? parPropagateTensorOps(kernel, maps, config) : parPropagate(kernel, maps, config);
        // afa.md §6: (0.3, 0.7) → (0.331387, 0.773235) = 1.01^10 × input.
        WSSS_VERIFY_CLOSE(out[0][0], torch::full({20, 23}, 0.331387f), 5e-6);
        WSSS_VERIFY_CLOSE(out[0][1], torch::full({20, 23}, 0.773235f), 5e-6);
    }

    void constantImageGivesUniformColourWeights()
    {
        const auto kernel = parKernel(torch::full({1, 3, 9, 9}, 0.4f), {});
        const auto expected = 1.0 / 48 + 0.01 * parPositionWeights({}).to(torch::kFloat).view({48, 1, 1});
        WSSS_VERIFY_CLOSE(kernel[0], expected.expand({48, 9, 9}), 1e-7);
    }

    void matchesPublishedFormulaFixture()
    {
        auto [image, maps] = formulaInputs();
        const auto kernel = parKernel(image, {});
        // κ at (y=2, x=3): the largest weight is neighbour 12 (d = 2, (0, +1)); Σκ = 1.0100001.
        QVERIFY(std::abs(kernel[0][12][2][3].item<float>() - 0.792395f) < 1e-6);
        QVERIFY(std::abs(kernel[0][5][2][3].item<float>() - 0.02381f) < 1e-5);
        ParConfig once;
        once.iterations = 1;
        const auto out1 = parPropagate(kernel, maps, once);
        QVERIFY(std::abs(out1.sum().item<double>() - 37.854885) < 1e-4);
        WSSS_VERIFY_CLOSE(out1[0][0][0],
                          torch::tensor({0.053266f, 0.439623f, 0.943919f, 0.188035f, 0.647008f, 0.151602f, 0.505203f}),
                          1e-5);
        const auto out10 = parPropagate(kernel, maps, {});
        QVERIFY(std::abs(out10.sum().item<double>() - 38.118446) < 1e-4);
        WSSS_VERIFY_CLOSE(out10[0][1][5],
                          torch::tensor({0.298936f, 0.794894f, 0.596573f, 0.784377f, 0.640757f, 0.328579f, 0.632728f}),
                          1e-5);
    }

    void matchesPythonReference_data()
    {
        QTest::addColumn<bool>("tensorOps");
        QTest::newRow("cpu loop") << false;
        QTest::newRow("tensor ops") << true;
    }
    void matchesPythonReference()
    {
        QFETCH(bool, tensorOps);
        const auto image = fixture("par_image").unsqueeze(0); // [1, 3, 11, 13]
        const auto maps = fixture("par_maps").unsqueeze(0);   // [1, 3, 6, 7]: resized inside PAR
        const auto kernel = tensorOps ? parKernelTensorOps(image, {}) : parKernel(image, {});
        WSSS_VERIFY_CLOSE(kernel[0], fixture("par_kernel"), 1e-4);
        ParConfig once;
        once.iterations = 1;
        WSSS_VERIFY_CLOSE(refineWithPar(image, maps, once)[0], fixture("par_out1"), 1e-4);
        const auto sized = torch::nn::functional::interpolate(
            maps, torch::nn::functional::InterpolateFuncOptions().size(std::vector<std::int64_t>{11, 13})
                      .mode(torch::kBilinear).align_corners(true));
        const auto out10 = tensorOps ? parPropagateTensorOps(kernel, sized, {}) : parPropagate(kernel, sized, {});
        WSSS_VERIFY_CLOSE(out10[0], fixture("par_out10"), 1e-4);
    }

    void cpuLoopAgreesWithTensorOps()
    {
        // Wider than the largest dilation in one direction, narrower in the other.
        const auto image = torch::rand({2, 3, 20, 61});
        const auto maps = torch::rand({2, 5, 20, 61});
        ParConfig config;
        config.iterations = 3;
        const auto a = parKernel(image, config), b = parKernelTensorOps(image, config);
        WSSS_VERIFY_CLOSE(a, b, 1e-5);
        WSSS_VERIFY_CLOSE(parPropagate(a, maps, config), parPropagateTensorOps(a, maps, config), 1e-5);
    }

    void runsOnCuda_CUDA()
    {
        if (!torch::cuda::is_available())
            QSKIP("CUDA is not available");
        const auto image = fixture("par_image").unsqueeze(0);
        const auto maps = fixture("par_maps").unsqueeze(0);
        ParConfig once;
        once.iterations = 1;
        const auto out = refineWithPar(image.to(torch::kCUDA), maps.to(torch::kCUDA), once);
        QVERIFY(out.device().is_cuda());
        WSSS_VERIFY_CLOSE(out[0].cpu(), fixture("par_out1"), 1e-4);
    }

    void rejectsBadInput()
    {
        WSSS_VERIFY_THROWS_WITH(parKernel(torch::rand({1, 4, 8, 8}), {}), "PAR: image must be [B, 3, H, W]");
        const auto kernel = parKernel(torch::rand({1, 3, 8, 8}), {});
        WSSS_VERIFY_THROWS_WITH(parPropagate(kernel, torch::rand({1, 2, 8, 9}), {}), "do not match the kernel");
        ParConfig bad;
        bad.dilations = {1, 0};
        WSSS_VERIFY_THROWS_WITH(parKernel(torch::rand({1, 3, 8, 8}), bad), "dilation 0");
    }
};

QTEST_APPLESS_MAIN(TestPar)
#include "test_par.moc"
