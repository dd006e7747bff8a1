// Time of one training step of a method on the demo backbone, made as the trainer makes it (the
// method's recipe and parameter groups, its optimiser, every loss read back, zero_grad, backward,
// step), on random images and random multi-hot labels. Prints one JSON object per method;
// tests/bench/run.sh sets it beside train_step_peer.py.
// Usage: bench_train_step METHOD[,METHOD…] REPEATS [BATCH [SIZE [PRECISION]]] (fp32 or bf16, as
//   `wsss train --precision`)
//   afa's steps are timed after its seg switch (step 40 of 100): the full step with its
//   multi-scale CAMs, PAR, random walk and the three losses, not the classification-only start.
#include "training/methods/method_registry.h"
#include "vision/core/precision.h"
#include "vision/core/process_setup.h"
#include "vision/core/thread_budget.h"

#include <ATen/Parallel.h>
#include <nlohmann/json.hpp>
#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <sstream>

namespace {

constexpr int kClasses = 20; // VOC's foreground classes
constexpr std::int64_t kTotalSteps = 100, kTimedStep = 40;

// As the trainer's makeOptimizer: the recipe's optimiser type over the method's groups.
std::unique_ptr<torch::optim::Optimizer> makeOptimizer(const wsss::training::TrainRecipe &recipe,
                                                       std::vector<torch::optim::OptimizerParamGroup> groups)
{
    if (recipe.optimizer == "sgd")
        return std::make_unique<torch::optim::SGD>(std::move(groups), torch::optim::SGDOptions(recipe.lr));
    return std::make_unique<torch::optim::AdamW>(std::move(groups), torch::optim::AdamWOptions(recipe.lr));
}

} // namespace

int main(int argc, char **argv)
{
    wsss::vision::prepareProcess(argv); // as every program of the project: may start it again
    if (argc < 3 || argc > 6) {
        std::fprintf(stderr, "usage: %s METHOD[,METHOD...] REPEATS [BATCH [SIZE [PRECISION]]]\n", argv[0]);
        return 2;
    }
    const int repeats = std::atoi(argv[2]);
    const int batchSize = argc > 3 ? std::atoi(argv[3]) : 16, size = argc > 4 ? std::atoi(argv[4]) : 128;
    const std::string precision = argc > 5 ? argv[5] : "fp32";
    wsss::vision::checkPrecision(precision);
    const std::string backbone = "vit_demo_patch8";
    // As `wsss train`: every core or WSSS_THREADS, fewer while other programs keep the cores busy.
    at::set_num_threads(wsss::vision::programThreads());
    wsss::vision::ThreadBudget threads(at::get_num_threads());

    std::stringstream names(argv[1]);
    for (std::string name; std::getline(names, name, ',');) {
        torch::manual_seed(0);
        auto method = wsss::training::createMethod({name, backbone, kClasses, nlohmann::json::object()});
        auto recipe = method->recipe();
        recipe.warmupFraction = 0;
        method->train();
        auto optimizer = makeOptimizer(recipe, method->parameterGroups(recipe));

        wsss::training::Batch batch;
        batch.images = torch::randn({batchSize, 3, size, size});
        batch.labels = (torch::rand({batchSize, kClasses}) < 0.15).to(torch::kFloat);
        batch.labels.select(1, 0).fill_(1); // every image has a class
        batch.step = kTimedStep;
        batch.totalSteps = kTotalSteps;

        std::vector<double> ms;
        int used = 0;
        for (int r = -2; r < repeats; ++r) { // two warm-up steps
            const auto t0 = std::chrono::steady_clock::now();
            used = threads.adapt();
            wsss::training::StepResult result;
            {
                const wsss::vision::PrecisionScope scope(precision, torch::kCPU); // as the trainer
                result = method->trainStep(batch);
            }
            auto loss = result.total();
            double logged = 0; // the trainer reads every loss for its log
            for (const auto &[key, l] : result.losses)
                logged += l.item<double>();
            if (!std::isfinite(logged + loss.item<double>()))
                return 1;
            optimizer->zero_grad();
            loss.backward();
            optimizer->step();
            if (r >= 0)
                ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count());
        }
        std::sort(ms.begin(), ms.end());
        nlohmann::json line = {{"impl", "wsss"},          {"method", name},   {"backbone", backbone},
                               {"size", size},            {"batch", batchSize}, {"optimizer", recipe.optimizer},
                               {"median_ms", ms[ms.size() / 2]}, {"min_ms", ms.front()}, {"threads", used},
                               {"precision", precision}};
        std::cout << line.dump() << std::endl;
    }
    return 0;
}
