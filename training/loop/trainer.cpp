#include "training/loop/trainer.h"

#include "training/checkpoint/checkpoint.h"
#include "training/data/dataset.h"
#include "training/engine/cancel_token.h"
#include "training/loop/schedule.h"
#include "training/loop/validation.h"
#include "training/methods/config_overrides.h"
#include "training/methods/inference.h"
#include "training/methods/method_registry.h"
#include "vision/backbones/backbone_registry.h"
#include "vision/core/error.h"
#include "vision/io/atomic_write.h"
#include "vision/io/voc_reader.h"
#include "vision/weights/load_weights.h"
#include "vision/weights/safetensors.h"
#include "vision/weights/vit_key_maps.h"

#include <torch/optim/adamw.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <functional>
#include <random>

namespace wsss::training {

namespace fs = std::filesystem;

namespace {

nlohmann::json optionsToJson(const TrainOptions &o)
{
    return {{"method", o.method}, {"data", o.data},   {"split", o.split},       {"backbone", o.backbone},
            {"weights", o.weights}, {"iters", o.iters}, {"batch", o.batch},     {"size", o.size},
            {"lr", o.lr},           {"backbone_lr_scale", o.backboneLrScale},   {"weight_decay", o.weightDecay},
            {"warmup", o.warmup},   {"seed", o.seed},     {"config_file", o.configFile},
            {"set", o.sets}};
}

void validate(const TrainOptions &o)
{
    if (o.out.empty())
        throw Error("train: --out is required");
    if (o.iters <= 0)
        throw Error("train: --iters " + std::to_string(o.iters) + " must be positive");
    if (o.batch <= 0)
        throw Error("train: --batch " + std::to_string(o.batch) + " must be positive");
    const int patch = vision::vitPreset(o.backbone).patchSize;
    if (o.size <= 0 || o.size % patch != 0)
        throw Error("train: --size " + std::to_string(o.size) + " must be a positive multiple of the patch size " +
                    std::to_string(patch));
}

// Initialises the backbone: the preset's bundled weights by default, a file, or nothing.
void initBackbone(Method &method, const TrainOptions &o, const std::function<void(const std::string &)> &onNote)
{
    const std::string path = vision::weightsFileFor(o.backbone, o.weights);
    if (path.empty())
        return; // --weights none, or no bundled weights for this preset: from scratch
    // timm or Hugging Face names, detected from the keys; what was skipped or resized is reported.
    const auto loaded = vision::loadVitWeights(*method.backbone(), path);
    if (onNote)
        for (const auto &note : loaded.notes)
            onNote("weights \"" + path + "\" (" + vision::namingName(loaded.naming) + " names): " + note);
}

} // namespace

TrainResult train(const TrainOptions &o, const TrainCallbacks &callbacks, const CancelToken *cancel)
{
    validate(o);
    const auto start = std::chrono::steady_clock::now();
    torch::manual_seed(o.seed);
    std::mt19937_64 rng(o.seed);
    const torch::Device device = resolveDevice(o.device);

    auto dataset = vision::loadVocDataset(o.data, o.split);
    for (const auto &w : dataset.warnings)
        if (callbacks.onWarning)
            callbacks.onWarning(w);

    CheckpointHeader header;
    header.method = o.method;
    header.backbone = o.backbone;
    header.labelMap = dataset.labelMap;
    header.inputSize = o.size;
    header.train = optionsToJson(o);
    auto method = createMethod({o.method, o.backbone, dataset.labelMap.foregroundCount(),
                                configOverrides(o.configFile, o.sets)});
    header.config = method->config();
    initBackbone(*method, o, callbacks.onWarning);
    method->to(device);
    method->train();

    TrainingSet set(dataset, o.size, method->needsMasks(), callbacks.onWarning);
    const auto &norm = method->backbone()->config().norm;

    auto groups = method->parameterGroups(o.lr, o.backboneLrScale, o.weightDecay);
    std::vector<double> baseLr;
    for (auto &g : groups)
        baseLr.push_back(static_cast<torch::optim::AdamWOptions &>(g.options()).lr());
    torch::optim::AdamW optimizer(groups, torch::optim::AdamWOptions(o.lr));

    fs::create_directories(o.out);
    const std::string checkpointPath = (fs::path(o.out) / "checkpoint.wsss").string();
    const std::string metricsPath = (fs::path(o.out) / "metrics.jsonl").string();
    std::ofstream metrics(metricsPath, std::ios::trunc);
    if (!metrics)
        throw Error("train: cannot write \"" + metricsPath + "\"");

    TrainResult result;
    result.checkpointPath = checkpointPath;
    double smoothed = 0;
    for (std::int64_t step = 0; step < o.iters; ++step) {
        if (cancel && cancel->cancelled())
            throw Cancelled{};
        const double factor = warmupPolyFactor(step, o.iters, o.warmup);
        for (std::size_t g = 0; g < optimizer.param_groups().size(); ++g)
            static_cast<torch::optim::AdamWOptions &>(optimizer.param_groups()[g].options()).lr(baseLr[g] * factor);

        Batch batch = set.next(rng, o.batch, norm, true);
        batch.images = batch.images.to(device);
        batch.labels = batch.labels.to(device);
        if (batch.masks.defined())
            batch.masks = batch.masks.to(device);
        StepResult r = method->trainStep(batch);
        auto loss = r.total();
        const double value = loss.item<double>();
        if (!std::isfinite(value))
            throw Error("train: loss is " + std::to_string(value) + " at step " + std::to_string(step) +
                        "; stopped, the last saved checkpoint is kept");
        optimizer.zero_grad();
        loss.backward();
        optimizer.step();

        smoothed = step == 0 ? value : 0.95 * smoothed + 0.05 * value;
        StepLog log;
        log.step = step + 1;
        log.total = o.iters;
        log.lr = baseLr.front() * factor;
        for (const auto &[name, l] : r.losses)
            log.losses[name] = l.item<double>();
        log.losses["total"] = value;
        if (callbacks.onStep)
            callbacks.onStep(log);
        if (log.step % o.logEvery == 0 || log.step == o.iters) {
            nlohmann::json line = {{"step", log.step}, {"lr", log.lr}, {"loss", log.losses}};
            metrics << line.dump() << "\n" << std::flush;
        }
        result.finalLoss = smoothed;
    }

    method->eval();
    header.step = o.iters;
    header.metrics = {{"final_loss", smoothed}};
    if (o.valSplit != "none" && fs::exists(fs::path(o.data) / "ImageSets" / "Segmentation" / (o.valSplit + ".txt"))) {
        LoadedModel trained{header, method};
        const auto val = vision::loadVocDataset(o.data, o.valSplit);
        const auto scores = validateModel(trained, val, device, 0.45f, callbacks.onWarning);
        for (const auto &[key, value] : scores.items()) {
            header.metrics[key] = value;
            result.metrics[key] = value.get<double>();
        }
    }
    saveCheckpoint(checkpointPath, header, *method);
    result.steps = o.iters;
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
}

} // namespace wsss::training
