#include "training/checkpoint/checkpoint.h"
#include "training/cli/progress_bar.h"
#include "training/cli/verbs.h"
#include "training/distributed/process_group.h"
#include "training/export/dataset_inference.h"
#include "training/methods/config_overrides.h"
#include "training/methods/inference.h"
#include "vision/core/error.h"
#include "vision/core/precision.h"
#include "vision/labels/pseudo_label_rule.h"

#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include <memory>
#include <vector>

namespace wsss::training {

namespace {

struct InferOptions {
    std::string checkpoint, data, split = "val", out, device = "auto";
    float bgThreshold = -1; // < 0: the checkpoint's, else the default 0.45
    bool saveMaps = false;
    int size = 0; // 0: the checkpoint's input size
    bool half = false;
    std::string precision = "fp32";
    bool par = false;       // PAR on the maps before the rule
    int parIterations = 10;
    bool crf = false;       // dense CRF after PAR, as `wsss refine --crf`
    std::string crfPreset = "psa";
    std::string band;       // "LO,HI": β_l/β_h band with 255 = ignore
    std::string map;        // which of the method's maps ("" = its primary one)
    bool distributed = false; // one of WORLD_SIZE processes, each inferring its share of the split
    std::string configFile;   // method config overrides, as `wsss train --config/--set`
    std::vector<std::string> sets;
};

void runInfer(const InferOptions &o)
{
    configureThreads();
    auto device = resolveDevice(o.device);
    std::unique_ptr<ProcessGroup> group;
    if (o.distributed) {
        const auto context = DistributedContext::fromEnvironment();
        if (device.is_cuda() && o.device.find(':') == std::string::npos) // each rank its own GPU
            device = torch::Device(torch::kCUDA, static_cast<torch::DeviceIndex>(context.localRank));
        group = std::make_unique<ProcessGroup>(context, device);
    }
    auto model = loadCheckpoint(o.checkpoint, device, configOverrides(o.configFile, o.sets));
    if (o.half)
        useHalfPrecision(model, device);
    if (const std::string problem = vision::precisionProblem(o.precision); !problem.empty())
        throw Error("infer: --precision: " + problem);
    model.precision = o.precision;
    if (o.size > 0) {
        const int multiple = model.method->backboneInfo().sizeMultiple;
        if (o.size % multiple != 0)
            throw Error("infer: --size " + std::to_string(o.size) + " must be a multiple of " + std::to_string(multiple) +
                        " for " + model.header.backbone);
        model.header.inputSize = o.size; // the position embedding follows any grid
    }
    const auto rule = pseudoLabelRuleFromFlags(
        o.bgThreshold >= 0 ? o.bgThreshold : model.header.metrics.value("best_bg_threshold", vision::kDefaultBgThreshold), o.band, o.par,
        o.parIterations, o.crf, o.crfPreset);
    DatasetInferenceOptions options;
    options.checkpoint = o.checkpoint;
    options.data = o.data;
    options.split = o.split;
    options.out = o.out;
    options.rule = rule;
    options.map = o.map;
    options.saveMaps = o.saveMaps;
    options.group = group.get();
    std::unique_ptr<ProgressBar> bar;
    if (group && group->rank() != 0) { // rank 0 shows its share's progress and the result
        inferDataset(model, device, options, {});
        return;
    }
    inferDataset(model, device, options, datasetProgress("infer", bar));
    bar->finish("→ " + o.out);
}

} // namespace

DatasetInferenceCallbacks datasetProgress(const std::string &label, std::unique_ptr<ProgressBar> &bar)
{
    DatasetInferenceCallbacks callbacks;
    callbacks.warning = [](const std::string &message) { std::fprintf(stderr, "warning: %s\n", message.c_str()); };
    callbacks.started = [&bar, label](std::int64_t total) { bar = std::make_unique<ProgressBar>(label, total); };
    callbacks.progress = [&bar](std::int64_t done, std::int64_t, const std::string &) { bar->update(done); };
    return callbacks;
}

void addInferVerb(CLI::App &app)
{
    auto o = std::make_shared<InferOptions>();
    auto *verb = app.add_subcommand("infer", "Write pseudo-masks (palette PNGs) for a dataset split");
    verb->add_option("--checkpoint", o->checkpoint, "checkpoint.wsss")->required();
    verb->add_option("--data", o->data, "VOC-layout dataset folder")->required();
    verb->add_option("--split", o->split, "Image list")->capture_default_str();
    verb->add_option("--out", o->out, "Output folder")->required();
    verb->add_option("--bg-threshold", o->bgThreshold, "Background score threshold (default: the checkpoint's, else the default 0.45)")
        ->check(CLI::Range(0.0f, 1.0f));
    verb->add_option("--size", o->size, "Side images are resized to (default: the checkpoint's training size)");
    verb->add_flag("--half", o->half, "Float16 inference (CUDA only)");
    verb->add_option("--precision", o->precision,
                     "fp32 | bf16: bf16 runs the network under autocast to bfloat16 (maps come back float32)")
        ->capture_default_str();
    verb->add_flag("--par", o->par, "Pixel-adaptive refinement (AFA) of the maps before the rule");
    verb->add_option("--par-iters", o->parIterations, "PAR iterations")->capture_default_str()->check(CLI::Range(1, 1000));
    verb->add_option("--band", o->band, "LO,HI: class above HI, background at or below LO, 255 (ignore) between");
    verb->add_option("--map", o->map, "Which of the method's maps the rule reads (default: its primary one; e.g. cam, aff, seg)");
    verb->add_flag("--crf", o->crf, kCrfFlagHelp);
    verb->add_option("--crf-preset", o->crfPreset, kCrfPresetHelp)->capture_default_str();
    verb->add_flag("--save-maps", o->saveMaps, "Also write maps/<id>.npy (float32 [C,H,W], image size)");
    verb->add_option("--config", o->configFile,
                     "Method config JSON over the checkpoint's (keys that change how maps are made, not the layers)");
    verb->add_option("--set", o->sets,
                     "key=value over the checkpoint's method config, e.g. affinity_refine=false (repeatable; recorded "
                     "in the manifest)")
        ->allow_extra_args(false);
    verb->add_option("--device", o->device, "auto | cpu | cuda[:N]")->capture_default_str();
    verb->add_flag("--distributed", o->distributed,
                   "One of WORLD_SIZE processes (RANK, WORLD_SIZE, MASTER_ADDR, MASTER_PORT as for `train "
                   "--distributed`): rank r infers the images i with i % WORLD_SIZE == r into the same --out; rank 0 "
                   "writes the list and manifest");
    verb->callback([o] { runInfer(*o); });
}

} // namespace wsss::training
