// Forward time of a MiT preset on this machine, with and without the last stage's attention
// logits. Prints one JSON object per line; tests/bench/run.sh sets it beside the python3-torch
// peer (mit_peer.py). Usage: bench_mit PRESET SIZE BATCH LAST_STRIDE REPEATS
#include "vision/backbones/mit.h"
#include "vision/core/process_setup.h"

#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <iostream>
#include <thread>

int main(int argc, char **argv)
{
    wsss::vision::prepareProcess(argv); // as every program of the project: may start it again
    if (argc != 6) {
        std::fprintf(stderr, "usage: %s PRESET SIZE BATCH LAST_STRIDE REPEATS\n", argv[0]);
        return 2;
    }
    const std::string preset = argv[1];
    const int size = std::atoi(argv[2]), batch = std::atoi(argv[3]), lastStride = std::atoi(argv[4]),
              repeats = std::atoi(argv[5]);
    at::set_num_threads(static_cast<int>(std::thread::hardware_concurrency()));
    torch::manual_seed(0);
    auto config = wsss::vision::mitPreset(preset);
    config.lastStride = lastStride;
    wsss::vision::MixTransformer mit(config);
    mit->eval();
    torch::NoGradGuard noGrad;
    auto x = torch::randn({batch, 3, size, size});

    for (bool capture : {false, true}) {
        wsss::vision::MitRequest request;
        request.lastStageLogits = capture;
        auto out = mit->forwardStages(x, request); // warm-up, and the check before timing
        if (capture && static_cast<int>(out.attentionLogits.size()) != config.depths[3])
            return 1;
        std::vector<double> ms;
        for (int r = 0; r < repeats; ++r) {
            const auto t0 = std::chrono::steady_clock::now();
            out = mit->forwardStages(x, request);
            ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
        }
        std::sort(ms.begin(), ms.end());
        nlohmann::json line = {{"impl", "wsss"},       {"preset", preset},   {"size", size},
                               {"batch", batch},       {"stride", lastStride}, {"capture", capture},
                               {"median_ms", ms[ms.size() / 2]}, {"min_ms", ms.front()}};
        std::cout << line.dump() << std::endl;
    }
    return 0;
}
