// The refinement toolkit's hot paths on this machine's CPU: the rule alone (what a threshold
// slider costs), PAR at full 512² resolution, and AFA's random walk on token grids. Prints one
// JSON object per line; tests/bench/run.sh sets it beside refine_peer.py (python3-torch).
// Usage: bench_refine REPEATS [CASE ...] (default: every case)
#include "vision/labels/pseudo_label_maps.h"
#include "vision/refine/par.h"
#include "vision/refine/random_walk.h"
#include "vision/core/process_setup.h"

#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <functional>
#include <iostream>
#include <numeric>
#include <thread>

namespace {

using namespace wsss::vision;

constexpr int kSize = 512, kClasses = 21;

std::vector<std::string> g_only; // the cases asked for on the command line; empty = all

void report(const std::string &name, const std::string &shape, int repeats, const std::function<void()> &run)
{
    if (!g_only.empty() && std::find(g_only.begin(), g_only.end(), name) == g_only.end())
        return;
    run(); // warm-up
    std::vector<double> ms;
    for (int r = 0; r < repeats; ++r) {
        const auto t0 = std::chrono::steady_clock::now();
        run();
        ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
    }
    std::sort(ms.begin(), ms.end());
    std::cout << nlohmann::json{{"impl", "wsss"}, {"case", name}, {"shape", shape},
                                {"median_ms", ms[ms.size() / 2]}, {"min_ms", ms.front()}}
                     .dump()
              << std::endl;
}

// AFA propagation of 20 CAMs (3 labelled) over a random symmetric affinity on an h×w grid.
std::function<void()> afaWalk(std::int64_t side, const RandomWalkConfig &config)
{
    auto a = torch::rand({1, side * side, side * side});
    a = (a + a.transpose(1, 2)) / 2;
    const auto cams = torch::rand({1, 20, side, side});
    auto labels = torch::zeros({1, 20});
    labels[0][2] = labels[0][7] = labels[0][14] = 1;
    return [=] { propagateWithBackground(cams, a, labels, 0.35, config); };
}

} // namespace

int main(int argc, char **argv)
{
    wsss::vision::prepareProcess(argv); // as every program of the project: may start it again
    const int repeats = argc > 1 ? std::atoi(argv[1]) : 5;
    g_only.assign(argv + std::min(argc, 2), argv + argc);
    at::set_num_threads(static_cast<int>(std::thread::hardware_concurrency()));
    torch::manual_seed(0);
    torch::NoGradGuard noGrad;
    const auto image = torch::randint(0, 256, {1, 3, kSize, kSize}).to(torch::kFloat) / 255;
    const auto maps = torch::rand({kClasses, kSize, kSize});
    std::vector<int> ids(kClasses);
    std::iota(ids.begin(), ids.end(), 1);
    const std::string shape = std::to_string(kClasses) + "x" + std::to_string(kSize) + "x" + std::to_string(kSize);

    // Check before timing: κ sums to 1.01, the rule writes only classes and background.
    const auto kernel = parKernel(image, {});
    if ((kernel.sum(1) - 1.01f).abs().max().item<float>() > 1e-4f)
        return 1;
    PseudoLabelRule threshold, band;
    band.background = BackgroundRule::Band;
    if (pseudoLabel(threshold, maps, ids, ids).max().item<int>() > kClasses)
        return 1;

    report("rule_threshold", shape, repeats * 4, [&] { pseudoLabel(threshold, maps, ids, ids); });
    report("rule_band", shape, repeats * 4, [&] { pseudoLabel(band, maps, ids, ids); });
    report("par_kernel", "3x512x512", repeats, [&] { parKernel(image, {}); });
    report("par_10_iters", shape, repeats, [&] { refineWithPar(image, maps.unsqueeze(0), {}); });
    report("rw_afa_32", "20x32x32", repeats * 4, afaWalk(32, {}));
    report("rw_afa_64", "20x64x64", repeats, afaWalk(64, {}));
    RandomWalkConfig psa;
    psa.radius = 5;
    psa.power = 8;
    psa.columnOffset = 0;
    psa.steps = 256;
    report("rw_psa_256_32", "20x32x32", repeats, afaWalk(32, psa));
    return 0;
}
