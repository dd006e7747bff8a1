#include "training/cli/progress_bar.h"
#include "training/cli/verbs.h"
#include "training/data/fashion_mnist.h"
#include "training/loop/pretrainer.h"
#include "vision/core/error.h"

#include <CLI/CLI.hpp>

#include <cmath>
#include <cstdio>
#include <memory>
#include <optional>
#include <set>
#include <string>

namespace wsss::training {

void addPretrainVerb(CLI::App &app)
{
    auto o = std::make_shared<PretrainOptions>();
    auto *verb = app.add_subcommand("pretrain", "Pretrain a backbone on Fashion-MNIST composites (train split)");
    verb->add_option("--backbone", o->backbone, "Backbone preset")->capture_default_str();
    verb->add_option("--out", o->out, "Output .safetensors")->required();
    verb->add_option("--weights", o->weights, "Continue from this backbone .safetensors (default: random init)")
        ->check(CLI::ExistingFile);
    verb->add_option("--iters", o->iters, "Optimiser steps")->capture_default_str();
    verb->add_option("--batch", o->batch, "Batch size (single-item steps)")->capture_default_str();
    verb->add_option("--size", o->size, "Single-item composite side in pixels")->capture_default_str();
    verb->add_option("--lr", o->lr, "Peak learning rate")->capture_default_str();
    verb->add_option("--warmup", o->warmup, "Warm-up steps")->capture_default_str();
    verb->add_option("--schedule", o->schedule, "After the warm-up: cosine | poly")
        ->check(CLI::IsMember({"cosine", "poly"}))
        ->capture_default_str();
    verb->add_option("--label-smoothing", o->labelSmoothing, "Label smoothing of the single-item loss")
        ->capture_default_str();
    verb->add_option("--ema", o->emaDecay, "EMA decay of the weights (0 = off; the EMA is evaluated and saved)")
        ->capture_default_str();
    verb->add_option("--multi-fraction", o->multiFraction,
                     "Share of steps on 1-3-item composites with a multi-label loss (0 = off)")
        ->capture_default_str();
    verb->add_option("--multi-size", o->multiSize, "Side of the multi-item composites (batch scaled to equal pixels)")
        ->capture_default_str();
    verb->add_option("--crop-min-area", o->augment.cropMinArea, "Random resized crop: smallest area fraction (1 = off)")
        ->capture_default_str();
    verb->add_option("--flip", o->augment.flip, "Random horizontal flip (true/false)")->capture_default_str();
    verb->add_option("--jitter", o->augment.jitter, "Colour jitter strength (brightness, contrast, saturation)")
        ->capture_default_str();
    verb->add_option("--cls-head", o->clsHead,
                     "Weight of a second classifier on the class token (0 = none): trains the token that ACR "
                     "classifies from and ECA's guider reads")
        ->capture_default_str();
    verb->add_option("--device", o->device, "auto | cpu | cuda[:N]")->capture_default_str();
    verb->add_option("--precision", o->precision,
                     "fp32 | bf16: bf16 runs each step's forward and loss under autocast to bfloat16 (the weights "
                     "and the EMA stay float32)")
        ->capture_default_str();
    verb->add_option("--seed", o->seed, "Random seed")->capture_default_str();
    verb->add_option("--eval-images", o->evalImages, "Held-out test-split composites scored at the end")
        ->capture_default_str();
    verb->add_option("--eval-seed", o->evalSeed, "Seed of the held-out composites")->capture_default_str();
    verb->add_option("--save-every", o->saveEvery,
                     "Steps between resume states (OUT.resume, removed when OUT is written; 0 = none)")
        ->capture_default_str();
    verb->add_option("--eval-every", o->evalEvery,
                     "Steps between held-out accuracy checks, each a line of OUT.curve.jsonl (0 = only at the end; "
                     "--resume keeps the run's unless given another)")
        ->capture_default_str();
    verb->add_flag("--resume", o->resume,
                   "Go on with the interrupted pretraining of --out from OUT.resume, with its saved options");
    verb->callback([o, verb] {
        if (o->resume) {
            // The saved run's options are the run: a different one given now would be silently
            // ignored, so it is refused instead. Every option but these few is one of the run's.
            const std::set<std::string> sittingOptions = {"--out", "--device", "--save-every", "--eval-every",
                                                          "--resume", "--help"};
            std::string given;
            for (const CLI::Option *option : verb->get_options())
                if (option->count() > 0 && sittingOptions.count(option->get_name()) == 0)
                    given += std::string(given.empty() ? "" : ", ") + option->get_name();
            if (!given.empty())
                throw Error("pretrain --resume goes on with the saved run's options; drop " + given +
                            " (only --out, --device, --save-every and --eval-every go with it)");
        }
        configureThreads();
        // Made at the first step: only then are a resumed run's length and starting step known.
        std::optional<ProgressBar> bar;
        char loss[32];
        auto result = pretrain(*o, [&](std::int64_t step, std::int64_t total, double l) {
            if (!bar)
                bar.emplace(o->resume ? "pretrain (resumed)" : "pretrain", total, step - 1);
            std::snprintf(loss, sizeof loss, "loss %.4f", l);
            bar->update(step, loss);
        });
        char summary[160];
        std::snprintf(summary, sizeof summary, "accuracy %.2f%% (raw weights %.2f%%; train-split items %.2f%%), %.0f s",
                      100 * result.accuracy, 100 * result.rawAccuracy, 100 * result.trainAccuracy, result.seconds);
        bar->finish(summary + std::string(" → ") + o->out);
        if (!std::isnan(result.classTokenAccuracy))
            std::printf("class-token head: accuracy %.2f%%\n", 100 * result.classTokenAccuracy);
        // Which items it gets wrong, and for what: where more pretraining has to go.
        const auto &names = fashionMnistClassNames();
        std::string perClass = "per class:";
        for (int c = 0; c < result.confusion.classes; ++c) {
            const double accuracy = result.confusion.classAccuracy(c);
            char cell[64];
            if (std::isnan(accuracy)) // none of its items was drawn (a small --eval-images)
                std::snprintf(cell, sizeof cell, " %s -", names[std::size_t(c)].c_str());
            else
                std::snprintf(cell, sizeof cell, " %s %.0f%%", names[std::size_t(c)].c_str(), 100 * accuracy);
            perClass += cell;
        }
        std::printf("%s\n", perClass.c_str());
        std::string confused;
        for (const auto &[truth, answer, count] : result.confusion.worstConfusions(5))
            confused += (confused.empty() ? " " : ", ") + names[std::size_t(truth)] + " → " +
                        names[std::size_t(answer)] + " " + std::to_string(count);
        if (!confused.empty())
            std::printf("most confused (true → answer, images):%s\n", confused.c_str());
    });
}

} // namespace wsss::training
