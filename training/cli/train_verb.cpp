#include "training/cli/progress_bar.h"
#include "training/cli/verbs.h"
#include "training/loop/trainer.h"
#include "training/methods/method_registry.h"
#include "vision/core/error.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <memory>

namespace wsss::training {

void addTrainVerb(CLI::App &app)
{
    auto o = std::make_shared<TrainOptions>();
    std::string methods;
    for (const auto &name : methodNames())
        methods += (methods.empty() ? "" : " | ") + name;
    auto *verb = app.add_subcommand("train", "Train a method; writes RUN/checkpoint.wsss and RUN/metrics.jsonl");
    verb->add_option("--method", o->method, methods + " (required unless --resume)");
    verb->add_option("--data", o->data, "VOC-layout dataset folder (required unless --resume; with --resume: "
                                        "where the run's dataset is now)");
    verb->add_option("--out", o->out, "Run folder")->required();
    verb->add_option("--split", o->split, "Training list")->capture_default_str();
    verb->add_option("--val-split", o->valSplit, "List scored after training (none: skip)")->capture_default_str();
    verb->add_option("--iters", o->iters, "Optimiser steps")->capture_default_str();
    verb->add_option("--batch", o->batch, "Batch size (per process with --distributed: the global batch is "
                                          "--batch × WORLD_SIZE)")->capture_default_str();
    verb->add_option("--size", o->size, "Side in pixels images are resized to (training and inference)")->capture_default_str();
    verb->add_option("--backbone", o->backbone, "Backbone preset")->capture_default_str();
    verb->add_option("--weights", o->weights, "Backbone weights (.safetensors, timm or Hugging Face names), or none (default: the bundled ones)");
    verb->add_option("--lr", o->lr, "Peak learning rate of the heads (default: the method's; with --resume: "
                                    "continue at this one, e.g. after a non-finite loss)");
    verb->add_option("--backbone-lr-scale", o->backboneLrScale, "Backbone lr as a fraction of --lr (default: the method's)");
    verb->add_option("--weight-decay", o->weightDecay, "Weight decay (default: the method's)");
    verb->add_option("--warmup", o->warmup, "Linear warm-up steps (default: the method's)");
    verb->add_option("--save-every", o->saveEvery, "Steps between checkpoints (a stopped run resumes from the last)")
        ->capture_default_str();
    verb->add_option("--val-every", o->valEvery, "Steps between validations on --val-split, written to metrics.jsonl "
                                                  "(0: only at the end)")->capture_default_str();
    verb->add_flag("--keep-checkpoints", o->keepCheckpoints, "Keep each save's checkpoint as RUN/checkpoint-step<N>.wsss "
                                                             "(a hard link: no extra space until the next save)");
    verb->add_flag("--resume", o->resume, "Continue the run in --out from RUN/checkpoint.wsss with its stored options "
                                          "(--data, --lr and --device may be given anew)");
    verb->add_flag("--force", o->force, "Start over in an --out that already holds a run, overwriting it");
    verb->add_option("--config", o->configFile, "Method config JSON, over the method's defaults");
    auto guider = std::make_shared<std::string>();
    verb->add_option("--guider", *guider, "eca: the frozen guider ViT (DINO weights as .safetensors, or the checkpoint "
                                          "of a `wsss train --method dino` run); the same as --set guider=FILE");
    verb->add_option("--set", o->sets, "key=value override of the method config (repeatable)")->allow_extra_args(false);
    verb->add_option("--device", o->device, "auto | cpu | cuda[:N]")->capture_default_str();
    verb->add_option("--precision", o->precision,
                     "fp32 | bf16: bf16 runs each step's forward under autocast to bfloat16 (about twice "
                     "as fast on CPUs with AVX-512 BF16 and on GPUs; the weights stay float32); stored with the run")
        ->capture_default_str();
    verb->add_option("--seed", o->seed, "Random seed")->capture_default_str();
    verb->add_flag("--distributed", o->distributed,
                   "One of WORLD_SIZE processes training together (c10d: Gloo on the CPU, NCCL on CUDA), set up by "
                   "RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT (LOCAL_RANK, WSSS_DIST_TIMEOUT seconds, default 60); "
                   "rank 0 writes --out, the others nothing (README \"Training across processes\")");
    verb->callback([o, guider] {
        configureThreads();
        if (!guider->empty()) {
            if (o->resume)
                throw Error("train --resume: the run's checkpoint carries its guider; --guider starts a new run");
            // Stored absolute, so the run's options say which file it was wherever it is repeated.
            o->sets.push_back("guider=" + nlohmann::json(std::filesystem::absolute(*guider).string()).dump());
        }
        TrainCallbacks callbacks;
        // A distributed run's progress is rank 0's; the other ranks print only their errors.
        const char *rank = std::getenv("RANK");
        const bool quiet = o->distributed && rank && std::string(rank) != "0";
        // Made at the first step: a resumed run learns its length and start from the checkpoint.
        std::unique_ptr<ProgressBar> bar;
        callbacks.onStep = [&](const StepLog &log) {
            if (quiet)
                return;
            if (!bar)
                bar = std::make_unique<ProgressBar>("train " + (o->method.empty() ? std::string("(resumed)") : o->method),
                                                    log.total, log.step - 1);
            char loss[48];
            std::snprintf(loss, sizeof loss, "loss %.4f", log.losses.at("total"));
            bar->update(log.step, loss);
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
        if (bar)
            bar->finish(summary);
    });
}

} // namespace wsss::training
