#include "training/cli/progress_bar.h"
#include "training/cli/verbs.h"
#include "training/loop/pretrainer.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>

namespace wsss::training {

void addPretrainVerb(CLI::App &app)
{
    auto o = std::make_shared<PretrainOptions>();
    auto *verb = app.add_subcommand("pretrain", "Pretrain a backbone on single-item Fashion-MNIST composites");
    verb->add_option("--backbone", o->backbone, "Backbone preset")->capture_default_str();
    verb->add_option("--out", o->out, "Output .safetensors")->required();
    verb->add_option("--weights", o->weights, "Continue from this backbone .safetensors (default: random init)")
        ->check(CLI::ExistingFile);
    verb->add_option("--iters", o->iters, "Optimiser steps")->capture_default_str();
    verb->add_option("--batch", o->batch, "Batch size")->capture_default_str();
    verb->add_option("--size", o->size, "Composite side in pixels")->capture_default_str();
    verb->add_option("--lr", o->lr, "Peak learning rate")->capture_default_str();
    verb->add_option("--warmup", o->warmup, "Warm-up steps")->capture_default_str();
    verb->add_option("--device", o->device, "auto | cpu | cuda[:N]")->capture_default_str();
    verb->add_option("--seed", o->seed, "Random seed")->capture_default_str();
    verb->callback([o] {
        configureThreads();
        ProgressBar bar("pretrain", o->iters);
        char loss[32];
        auto result = pretrain(*o, [&](std::int64_t step, std::int64_t total, double l) {
            std::snprintf(loss, sizeof loss, "loss %.4f", l);
            bar.update(step, loss);
        });
        char summary[128];
        std::snprintf(summary, sizeof summary, "accuracy %.2f%% → %s", 100 * result.accuracy, o->out.c_str());
        bar.finish(summary);
    });
}

} // namespace wsss::training
