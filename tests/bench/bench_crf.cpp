// Dense CRF on a 512×512 image with 21 labels, PSA-CRF parameters, 10 mean-field iterations:
// target under 0.5 s on CPU. Also times building the two lattices alone.
// Usage: bench_crf SIZE LABELS REPEATS [THREADS] (default: all cores)
#include "vision/refine/dense_crf.h"
#include "vision/refine/permutohedral.h"
#include "vision/core/process_setup.h"

#include <ATen/Parallel.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <functional>
#include <thread>
#include <vector>

namespace {

struct Timing {
    double wallMs; // median
    double cpuMs;  // median process CPU time, all threads: on a busy machine wall time says
                   // little, and cpu_ms / threads is the wall time an idle machine would give
};

Timing timeMedian(int repeats, const std::function<void()> &run)
{
    std::vector<double> wall, cpu;
    for (int r = 0; r < repeats; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        const std::clock_t c0 = std::clock();
        run();
        cpu.push_back(1000.0 * static_cast<double>(std::clock() - c0) / CLOCKS_PER_SEC);
        wall.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(wall.begin(), wall.end());
    std::sort(cpu.begin(), cpu.end());
    return {wall[wall.size() / 2], cpu[cpu.size() / 2]};
}

// A photo-like image: a few flat coloured discs on a gradient, plus noise.
torch::Tensor syntheticImage(int size)
{
    auto ys = torch::arange(size, torch::kFloat).view({size, 1}).expand({size, size});
    auto xs = torch::arange(size, torch::kFloat).view({1, size}).expand({size, size});
    auto rgb = torch::stack({xs / size * 200, ys / size * 200, torch::full({size, size}, 90.0f)}, 2);
    for (int k = 0; k < 6; ++k) {
        const float cx = size * (0.15f + 0.14f * k), cy = size * (0.2f + 0.11f * k), r = size * 0.12f;
        auto inside = ((xs - cx).pow(2) + (ys - cy).pow(2) < r * r).unsqueeze(2);
        rgb = torch::where(inside, torch::tensor({40.0f * k, 255.0f - 35.0f * k, 30.0f + 30.0f * k}), rgb);
    }
    return (rgb + 8 * torch::randn({size, size, 3})).clamp(0, 255).to(torch::kByte);
}

} // namespace

int main(int argc, char **argv)
{
    wsss::vision::prepareProcess(argv); // as every program of the project: may start it again
    if (argc != 4 && argc != 5) {
        std::fprintf(stderr, "usage: %s SIZE LABELS REPEATS [THREADS]\n", argv[0]);
        return 2;
    }
    const int size = std::atoi(argv[1]), labels = std::atoi(argv[2]), repeats = std::atoi(argv[3]);
    at::set_num_threads(argc == 5 ? std::atoi(argv[4]) : static_cast<int>(std::thread::hardware_concurrency()));
    torch::manual_seed(0);
    const auto image = syntheticImage(size);
    const auto probs = torch::softmax(4 * torch::randn({labels, size, size}), 0);
    const wsss::vision::DenseCrfParams params; // PSA-CRF: 3, 3; 80, 13, 10; 10 iterations

    auto q = wsss::vision::denseCrf(probs, image, params); // warm-up, and the check before timing
    if ((q.sum(0) - 1).abs().max().item<float>() > 1e-4f) {
        std::fprintf(stderr, "CRF output is not a distribution\n");
        return 1;
    }
    const Timing crf = timeMedian(repeats, [&] { q = wsss::vision::denseCrf(probs, image, params); });

    // The two lattices alone, with the CRF's features.
    const std::int64_t n = static_cast<std::int64_t>(size) * size;
    std::vector<float> gaussian(static_cast<std::size_t>(n * 2)), bilateral(static_cast<std::size_t>(n * 5));
    const auto *rgb = image.data_ptr<std::uint8_t>();
    for (std::int64_t i = 0; i < n; ++i) {
        const float x = static_cast<float>(i % size), y = static_cast<float>(i / size);
        gaussian[i * 2] = x / params.gaussianSxy;
        gaussian[i * 2 + 1] = y / params.gaussianSxy;
        bilateral[i * 5] = x / params.bilateralSxy;
        bilateral[i * 5 + 1] = y / params.bilateralSxy;
        for (int c = 0; c < 3; ++c)
            bilateral[i * 5 + 2 + c] = rgb[i * 3 + c] / params.bilateralSrgb;
    }
    std::int64_t gv = 0, bv = 0;
    const Timing gaussianBuild = timeMedian(repeats, [&] { gv = wsss::vision::PermutohedralLattice(gaussian.data(), n, 2).numVertices(); });
    const Timing bilateralBuild = timeMedian(repeats, [&] { bv = wsss::vision::PermutohedralLattice(bilateral.data(), n, 5).numVertices(); });

    std::printf("# dense CRF %d iterations — target under 0.5 s (%d threads)\n", params.iterations, at::get_num_threads());
    std::printf("%-9s %6s %8s %11s %15s %15s %12s %12s\n", "size", "labels", "crf_ms", "crf_cpu_ms", "gauss_build_ms",
                "bilat_build_ms", "gauss_verts", "bilat_verts");
    std::printf("%4dx%-4d %6d %8.1f %11.1f %15.1f %15.1f %12lld %12lld\n", size, size, labels, crf.wallMs, crf.cpuMs,
                gaussianBuild.wallMs, bilateralBuild.wallMs, static_cast<long long>(gv), static_cast<long long>(bv));
    return 0;
}
