#include "training/loop/trainer.h"

#include "training/checkpoint/checkpoint.h"
#include "training/data/dataset.h"
#include "training/engine/cancel_token.h"
#include "training/loop/resume_state.h"
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
#include <torch/optim/sgd.h>
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

nlohmann::json optionsToJson(const TrainOptions &o, const TrainRecipe &recipe)
{
    return {{"method", o.method}, {"data", o.data},   {"split", o.split},       {"val_split", o.valSplit},
            {"backbone", o.backbone}, {"weights", o.weights}, {"iters", o.iters}, {"batch", o.batch},
            {"size", o.size},       {"seed", o.seed},     {"config_file", o.configFile}, {"set", o.sets},
            {"log_every", o.logEvery}, {"save_every", o.saveEvery}, {"recipe", recipe.toJson()},
            // The recipe as resolved, also as the flags that set it, so the run can be repeated.
            {"lr", recipe.lr},      {"backbone_lr_scale", recipe.backboneLrScale},
            {"weight_decay", recipe.weightDecay}, {"warmup", recipe.warmup}};
}

// The options a run was started with, from its checkpoint header; `given` only contributes the
// run folder and the device, and must not contradict what is stored.
TrainOptions storedOptions(const TrainOptions &given, const CheckpointHeader &header, const std::string &path)
{
    const auto &j = header.train;
    TrainOptions o;
    try {
        o.method = j.at("method").get<std::string>();
        o.data = j.at("data").get<std::string>();
        o.split = j.value("split", o.split);
        o.valSplit = j.value("val_split", o.valSplit);
        o.backbone = j.at("backbone").get<std::string>();
        o.weights = j.value("weights", o.weights);
        o.iters = j.at("iters").get<int>();
        o.batch = j.at("batch").get<int>();
        o.size = j.at("size").get<int>();
        o.lr = j.at("lr").get<double>();
        o.backboneLrScale = j.at("backbone_lr_scale").get<double>();
        o.weightDecay = j.at("weight_decay").get<double>();
        o.warmup = j.at("warmup").get<int>();
        o.seed = j.value("seed", o.seed);
        o.configFile = j.value("config_file", o.configFile);
        o.sets = j.value("set", o.sets);
        o.logEvery = j.value("log_every", o.logEvery);
        o.saveEvery = j.value("save_every", o.saveEvery);
    } catch (const nlohmann::json::exception &e) {
        throw Error("train --resume: \"" + path + "\" does not record its training options (" + e.what() + ")");
    }
    if (!given.method.empty() && given.method != o.method)
        throw Error("train --resume: the run in \"" + given.out + "\" trains method \"" + o.method + "\", not \"" +
                    given.method + "\"");
    if (!given.data.empty() && given.data != o.data)
        throw Error("train --resume: the run in \"" + given.out + "\" trains on \"" + o.data + "\", not \"" +
                    given.data + "\"");
    o.out = given.out;
    o.device = given.device;
    o.resume = true;
    return o;
}

void validate(const TrainOptions &o)
{
    if (o.out.empty())
        throw Error("train: --out is required");
    if (o.method.empty())
        throw Error("train: --method is required (unless --resume)");
    if (o.data.empty())
        throw Error("train: --data is required (unless --resume)");
    if (o.iters <= 0)
        throw Error("train: --iters " + std::to_string(o.iters) + " must be positive");
    if (o.batch <= 0)
        throw Error("train: --batch " + std::to_string(o.batch) + " must be positive");
    if (o.saveEvery <= 0)
        throw Error("train: --save-every " + std::to_string(o.saveEvery) + " must be positive");
    const int multiple = vision::inputSizeMultiple(o.backbone);
    if (o.size <= 0 || o.size % multiple != 0)
        throw Error("train: --size " + std::to_string(o.size) + " must be a positive multiple of " +
                    std::to_string(multiple) + " for " + o.backbone);
}

TrainRecipe resolveRecipe(TrainRecipe recipe, const TrainOptions &o)
{
    if (o.lr)
        recipe.lr = *o.lr;
    if (o.backboneLrScale)
        recipe.backboneLrScale = *o.backboneLrScale;
    if (o.weightDecay)
        recipe.weightDecay = *o.weightDecay;
    if (o.warmup)
        recipe.warmup = *o.warmup;
    else if (recipe.warmupFraction > 0)
        recipe.warmup = static_cast<int>(std::lround(recipe.warmupFraction * o.iters));
    recipe.warmupFraction = 0; // resolved into steps
    recipe.validate();
    return recipe;
}

std::unique_ptr<torch::optim::Optimizer> makeOptimizer(const TrainRecipe &recipe,
                                                       std::vector<torch::optim::OptimizerParamGroup> groups)
{
    if (recipe.optimizer == "sgd")
        return std::make_unique<torch::optim::SGD>(std::move(groups), torch::optim::SGDOptions(recipe.lr));
    return std::make_unique<torch::optim::AdamW>(std::move(groups), torch::optim::AdamWOptions(recipe.lr));
}

// Initialises the backbone: the preset's bundled weights by default, a file, or nothing.
void initBackbone(Method &method, const TrainOptions &o, const std::function<void(const std::string &)> &onNote)
{
    const std::string path = vision::weightsFileFor(o.backbone, o.weights);
    if (path.empty())
        return; // --weights none, or no bundled weights for this preset: from scratch
    // timm or Hugging Face names, detected from the keys; what was skipped or resized is reported.
    const auto notes = method.loadBackboneWeights(path);
    if (onNote)
        for (const auto &note : notes)
            onNote("weights \"" + path + "\" (" + note + ")");
}

// metrics.jsonl of a resumed run: the lines up to the resumed step stay, later ones (written
// after the last checkpoint, before the interruption) go.
void truncateMetrics(const std::string &path, std::int64_t step)
{
    std::ifstream in(path);
    std::string kept, line;
    while (std::getline(in, line)) {
        try {
            if (nlohmann::json::parse(line).value("step", std::int64_t{0}) <= step)
                kept += line + "\n";
        } catch (const nlohmann::json::exception &) {
            break; // a torn last line
        }
    }
    vision::atomicWriteText(path, kept);
}

// "cls 0.69, seg nan": every loss term, so a non-finite total names its culprit.
std::string describeLosses(const StepResult &r)
{
    std::string text;
    for (const auto &[name, loss] : r.losses)
        text += (text.empty() ? "" : ", ") + name + " " + std::to_string(loss.item<double>());
    return text;
}

} // namespace

TrainResult train(const TrainOptions &given, const TrainCallbacks &callbacks, const CancelToken *cancel)
{
    const std::string checkpointPath = (fs::path(given.out) / "checkpoint.wsss").string();
    CheckpointHeader resumed;
    TrainOptions o = given;
    if (given.resume) {
        if (given.out.empty())
            throw Error("train: --out is required");
        if (!fs::exists(checkpointPath))
            throw Error("train --resume: there is no checkpoint \"" + checkpointPath + "\" to resume from");
        resumed = readCheckpointHeader(checkpointPath);
        o = storedOptions(given, resumed, checkpointPath);
        if (resumed.step >= o.iters)
            throw Error("train --resume: the run in \"" + o.out + "\" already finished (" + std::to_string(resumed.step) +
                        " of " + std::to_string(o.iters) + " steps)");
    }
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
    std::shared_ptr<Method> method;
    if (o.resume) {
        auto loaded = loadCheckpoint(checkpointPath, device);
        header = loaded.header;
        method = loaded.method;
    } else {
        header.method = o.method;
        header.backbone = o.backbone;
        header.labelMap = dataset.labelMap;
        header.inputSize = o.size;
        method = createMethod({o.method, o.backbone, dataset.labelMap.foregroundCount(),
                               configOverrides(o.configFile, o.sets)});
        header.config = method->config();
        initBackbone(*method, o, callbacks.onWarning);
        method->to(device);
    }
    if (dataset.labelMap.names() != header.labelMap.names())
        throw Error("train --resume: the classes of \"" + o.data + "\" are not the run's");
    const TrainRecipe recipe = resolveRecipe(method->recipe(), o);
    header.train = optionsToJson(o, recipe);
    method->train();

    TrainingSet set(dataset, o.size, method->needsMasks(), callbacks.onWarning);
    const auto norm = method->backboneInfo().norm;

    auto optimizer = makeOptimizer(recipe, method->parameterGroups(recipe));
    std::vector<double> baseLr;
    for (auto &g : optimizer->param_groups())
        baseLr.push_back(g.options().get_lr());

    std::int64_t firstStep = 0;
    std::int64_t lastSaved = -1; // the step of the checkpoint on disk, -1 while there is none
    double smoothed = 0;
    if (o.resume) {
        const auto state = loadResumeState(o.out, resumed.step, *optimizer);
        restoreResumeState(state, rng, set, device);
        firstStep = lastSaved = state.step;
        smoothed = state.smoothedLoss;
    }

    fs::create_directories(o.out);
    const std::string metricsPath = (fs::path(o.out) / "metrics.jsonl").string();
    if (o.resume)
        truncateMetrics(metricsPath, firstStep);
    std::ofstream metrics(metricsPath, o.resume ? std::ios::app : std::ios::trunc);
    if (!metrics)
        throw Error("train: cannot write \"" + metricsPath + "\"");

    // A checkpoint and the optimiser state of the same step; the state goes first, so the
    // checkpoint on disk always has its state beside it.
    auto saveProgress = [&](std::int64_t stepsDone) {
        saveResumeState(o.out, captureResumeState(stepsDone, smoothed, rng, set, device), *optimizer);
        header.step = stepsDone;
        header.metrics = {{"final_loss", smoothed}};
        saveCheckpoint(checkpointPath, header, *method);
        lastSaved = stepsDone;
    };

    TrainResult result;
    result.checkpointPath = checkpointPath;
    for (std::int64_t step = firstStep; step < o.iters; ++step) {
        if (cancel && cancel->cancelled())
            throw Cancelled{};
        const double factor = polyWarmupFactor(step, o.iters, recipe.warmup, recipe.warmupRatio, recipe.polyPower);
        for (std::size_t g = 0; g < optimizer->param_groups().size(); ++g)
            optimizer->param_groups()[g].options().set_lr(baseLr[g] * factor);

        Batch batch = set.next(rng, o.batch, norm, true);
        batch.images = batch.images.to(device);
        batch.labels = batch.labels.to(device);
        if (batch.masks.defined())
            batch.masks = batch.masks.to(device);
        batch.step = step;
        batch.totalSteps = o.iters;
        StepResult r = method->trainStep(batch);
        auto loss = r.total();
        const double value = loss.item<double>();
        if (!std::isfinite(value))
            throw Error("train: the loss is not finite at step " + std::to_string(step + 1) + " (" + describeLosses(r) +
                        "); stopped. " +
                        (lastSaved >= 0 ? "The checkpoint of step " + std::to_string(lastSaved) + " in \"" + o.out +
                                              "\" is kept (--resume continues from it)"
                                        : std::string("No checkpoint had been saved yet")));
        optimizer->zero_grad();
        loss.backward();
        optimizer->step();

        smoothed = step == 0 ? value : 0.95 * smoothed + 0.05 * value;
        StepLog log;
        log.step = step + 1;
        log.total = o.iters;
        log.lr = baseLr.front() * factor;
        for (const auto &[name, l] : r.losses)
            log.losses[name] = l.item<double>();
        for (const auto &[name, v] : r.logs)
            log.losses[name] = v;
        log.losses["total"] = value;
        if (log.step % o.logEvery == 0 || log.step == o.iters) {
            nlohmann::json line = {{"step", log.step}, {"lr", log.lr}, {"loss", log.losses}};
            metrics << line.dump() << "\n" << std::flush;
        }
        result.finalLoss = smoothed;
        if (log.step % o.saveEvery == 0 && log.step < o.iters)
            saveProgress(log.step);
        if (callbacks.onStep)
            callbacks.onStep(log);
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
    removeResumeStates(o.out);
    result.steps = o.iters;
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
}

} // namespace wsss::training
