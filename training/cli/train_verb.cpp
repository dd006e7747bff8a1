#include "training/cli/progress_bar.h"
#include "training/cli/verbs.h"
#include "training/loop/trainer.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>

namespace wsss::training {

void addTrainVerb(CLI::App &app)
{
    auto o = std::make_shared<TrainOptions>();
    auto *verb = app.add_subcommand("train", "Train a method; writes RUN/checkpoint.wsss and RUN/metrics.jsonl");
    verb->add_option("--method", o->method, "cam | supervised")->required();
    verb->add_option("--data", o->data, "VOC-layout dataset folder")->required();
    verb->add_option("--out", o->out, "Run folder")->required();
    verb->add_option("--split", o->split, "Training list")->capture_default_str();
    verb->add_option("--val-split", o->valSplit, "List scored after training (none: skip)")->capture_default_str();
    verb->add_option("--iters", o->iters, "Optimiser steps")->capture_default_str();
    verb->add_option("--batch", o->batch, "Batch size")->capture_default_str();
    verb->add_option("--size", o->size, "Side in pixels images are resized to (training and inference)")->capture_default_str();
    verb->add_option("--backbone", o->backbone, "Backbone preset")->capture_default_str();
    verb->add_option("--weights", o->weights, "Backbone weights (.safetensors, timm or Hugging Face names), or none (default: the bundled ones)");
    verb->add_option("--lr", o->lr, "Peak learning rate of the heads")->capture_default_str();
    verb->add_option("--backbone-lr-scale", o->backboneLrScale, "Backbone lr as a fraction of --lr")->capture_default_str();
    verb->add_option("--warmup", o->warmup, "Linear warm-up steps")->capture_default_str();
    verb->add_option("--config", o->configFile, "Method config JSON, over the method's defaults");
    verb->add_option("--set", o->sets, "key=value override of the method config (repeatable)")->allow_extra_args(false);
    verb->add_option("--device", o->device, "auto | cpu | cuda[:N]")->capture_default_str();
    verb->add_option("--seed", o->seed, "Random seed")->capture_default_str();
    verb->callback([o] {
        configureThreads();
        ProgressBar bar("train " + o->method, o->iters);
        TrainCallbacks callbacks;
        callbacks.onStep = [&](const StepLog &log) {
            char loss[48];
            std::snprintf(loss, sizeof loss, "loss %.4f", log.losses.at("total"));
            bar.update(log.step, loss);
        };
        callbacks.onWarning = [](const std::string &w) { std::fprintf(stderr, "warning: %s\n", w.c_str()); };
        auto result = train(*o, callbacks);
        std::string summary = "→ " + result.checkpointPath;
        char figure[96];
        if (result.metrics.count("val_miou")) {
            std::snprintf(figure, sizeof figure, "; %s mIoU %.1f%%", o->valSplit.c_str(), 100 * result.metrics.at("val_miou"));
            summary += figure;
        }
        if (result.metrics.count("best_bg_threshold")) {
            std::snprintf(figure, sizeof figure, " (%.1f%% at the best background threshold %.2f)",
                          100 * result.metrics.at("val_miou_best"), result.metrics.at("best_bg_threshold"));
            summary += figure;
        }
        bar.finish(summary);
    });
}

} // namespace wsss::training
