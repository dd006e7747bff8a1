// Forward time of the ViT presets on this machine, with and without attention capture.
// Prints one JSON object per line; tests/bench/run.sh sets it beside the python3-torch peer.
// Usage: bench_vit PRESET SIZE BATCH REPEATS
#include "vision/backbones/backbone_registry.h"
#include "vision/core/process_setup.h"
#include "vision/core/thread_budget.h"

#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cstdio>
#include <iostream>

int main(int argc, char **argv)
{
    wsss::vision::prepareProcess(argv); // as every program of the project: may start it again
    if (argc != 5) {
        std::fprintf(stderr, "usage: %s PRESET SIZE BATCH REPEATS\n", argv[0]);
        return 2;
    }
    const std::string preset = argv[1];
    const int size = std::atoi(argv[2]), batch = std::atoi(argv[3]), repeats = std::atoi(argv[4]);
    // As `wsss`: every core or WSSS_THREADS, fewer while other programs keep the cores busy.
    at::set_num_threads(wsss::vision::programThreads());
    wsss::vision::ThreadBudget threads(at::get_num_threads());
    torch::manual_seed(0);
    wsss::vision::VisionTransformer vit(wsss::vision::vitPreset(preset));
    vit->eval();
    torch::NoGradGuard noGrad;
    auto x = torch::randn({batch, 3, size, size});

    for (bool capture : {false, true}) {
        const auto request = capture ? wsss::vision::CaptureRequest::allAttention() : wsss::vision::CaptureRequest::none();
        auto out = vit(x, request); // warm-up, and the check before timing
        if (capture && static_cast<int>(out.attention.size()) != vit->config().depth)
            return 1;
        std::vector<double> ms;
        int used = 0;
        for (int r = 0; r < repeats; ++r) {
            const auto t0 = std::chrono::steady_clock::now();
            used = threads.adapt();
            out = vit(x, request);
            ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
        }
        std::sort(ms.begin(), ms.end());
        nlohmann::json line = {{"impl", "wsss"}, {"preset", preset}, {"size", size},
                               {"batch", batch},  {"capture", capture}, {"median_ms", ms[ms.size() / 2]},
                               {"min_ms", ms.front()}, {"threads", used}};
        std::cout << line.dump() << std::endl;
    }
    return 0;
}
