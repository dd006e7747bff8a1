#include "training/loop/trainer.h"

#include "training/checkpoint/checkpoint.h"
#include "training/data/dataset.h"
#include "training/distributed/data_shard.h"
#include "training/distributed/gradient_sync.h"
#include "training/distributed/process_group.h"
#include "training/engine/cancel_token.h"
#include "training/loop/resume_state.h"
#include "training/loop/run_folder.h"
#include "training/loop/schedule.h"
#include "training/loop/validation.h"
#include "training/methods/config_overrides.h"
#include "training/methods/inference.h"
#include "training/methods/method_registry.h"
#include "vision/backbones/backbone_registry.h"
#include "vision/core/error.h"
#include "vision/core/precision.h"
#include "vision/core/thread_budget.h"
#include "vision/io/atomic_write.h"
#include "vision/io/folder_lock.h"
#include "vision/io/voc_reader.h"
#include "vision/weights/load_weights.h"
#include "vision/weights/safetensors.h"
#include "vision/weights/vit_key_maps.h"

#include <torch/optim/adamw.h>
#include <torch/optim/sgd.h>
#include <torch/torch.h>

#include <chrono>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <random>

namespace wsss::training {

namespace fs = std::filesystem;

namespace {

nlohmann::json optionsToJson(const TrainOptions &o, const TrainRecipe &recipe)
{
    // The dataset as an absolute path, so --resume works from any folder.
    return {{"method", o.method}, {"data", fs::absolute(o.data).string()}, {"split", o.split}, {"val_split", o.valSplit},
            {"backbone", o.backbone}, {"weights", o.weights}, {"iters", o.iters}, {"batch", o.batch},
            {"size", o.size},       {"seed", o.seed},     {"precision", o.precision},     {"config_file", o.configFile}, {"set", o.sets},
            {"log_every", o.logEvery}, {"save_every", o.saveEvery}, {"val_every", o.valEvery},
            {"keep_checkpoints", o.keepCheckpoints}, {"recipe", recipe.toJson()},
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
        o.precision = j.value("precision", o.precision); // runs from before the option: fp32
        o.configFile = j.value("config_file", o.configFile);
        o.sets = j.value("set", o.sets);
        o.logEvery = j.value("log_every", o.logEvery);
        o.saveEvery = j.value("save_every", o.saveEvery);
        o.valEvery = j.value("val_every", o.valEvery);
        o.keepCheckpoints = j.value("keep_checkpoints", o.keepCheckpoints);
    } catch (const nlohmann::json::exception &e) {
        throw Error("train --resume: \"" + path + "\" does not record its training options (" + e.what() + ")");
    }
    if (!given.method.empty() && given.method != o.method)
        throw Error("train --resume: the run in \"" + given.out + "\" trains method \"" + o.method + "\", not \"" +
                    given.method + "\"");
    // The dataset may have moved (or the run was started from another folder with a relative
    // path): a given --data wins; its classes are checked against the run's.
    if (!given.data.empty())
        o.data = fs::absolute(given.data).string();
    else if (!fs::exists(o.data))
        throw Error("train --resume: the run's dataset \"" + o.data + "\" is not there" +
                    (fs::path(o.data).is_relative() ? " (a path relative to the folder the run was started from)" : "") +
                    "; give --data with where it is now");
    // A new learning rate for a run that diverged (the non-finite-loss message suggests it).
    if (given.lr)
        o.lr = given.lr;
    o.out = given.out;
    o.device = given.device;
    o.distributed = given.distributed;
    o.resume = true;
    return o;
}

void validate(const TrainOptions &o)
{
    if (const auto problems = optionProblems(o); !problems.empty())
        throw Error(problems.front());
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

// Weights a method reads besides its backbone's (ECA's guider), named by its config.
void initAuxiliary(Method &method, const std::function<void(const std::string &)> &onNote)
{
    const auto notes = method.loadAuxiliaryWeights();
    if (onNote)
        for (const auto &note : notes)
            onNote(method.name() + ": " + note);
}

// A learning rate as the flag would be typed ("6e-05").
std::string lrText(double lr)
{
    char text[32];
    std::snprintf(text, sizeof text, "%g", lr);
    return text;
}

// A folder that holds a run (its checkpoint or metrics) is not started over without --force.
void refuseExistingRun(const TrainOptions &o, const std::string &checkpointPath)
{
    const bool hasCheckpoint = fs::exists(checkpointPath);
    if (o.force || (!hasCheckpoint && !fs::exists(fs::path(o.out) / "metrics.jsonl")))
        return;
    std::string what = "a run";
    if (hasCheckpoint) {
        try {
            const auto header = readCheckpointHeader(checkpointPath);
            const int iters = header.train.value("iters", 0);
            what = "a " + header.method + " run " +
                   (iters > 0 && header.step >= iters ? "(finished, " + std::to_string(header.step) + " steps)"
                                                      : "(at step " + std::to_string(header.step) + " of " +
                                                            std::to_string(iters) + ")");
        } catch (const Error &) {
            what = "a checkpoint";
        }
    }
    throw Error("train: \"" + o.out + "\" already holds " + what +
                "; --resume continues it, --force starts over and overwrites it, or choose another --out");
}

// What a failed save says: the cause, what is kept, and how much room the next save needs.
std::string saveFailure(const std::string &cause, std::int64_t step, std::int64_t lastSaved, const std::string &out,
                        std::uint64_t bytesNeeded)
{
    char mb[32];
    std::snprintf(mb, sizeof mb, "%.0f MB", std::ceil(static_cast<double>(bytesNeeded) / (1 << 20)));
    return "train: cannot save step " + std::to_string(step) + " (" + cause + "). " +
           (lastSaved >= 0 ? "The checkpoint of step " + std::to_string(lastSaved) + " in \"" + out +
                                 "\" is kept with its resume state; free about " + mb +
                                 " on that disk, then --resume continues from it"
                           : "No checkpoint had been saved yet; free about " + std::string(mb) +
                                 " on the disk of \"" + out + "\" and start again");
}

// What running out of memory in a step says: where, with what batch and size, and what to change.
std::string outOfMemory(const std::string &cause, const std::string &device, std::int64_t step, const TrainOptions &o,
                        std::int64_t lastSaved)
{
    return "train: out of memory on " + device + " at step " + std::to_string(step) + " (batch " +
           std::to_string(o.batch) + " at " + std::to_string(o.size) + " px): " + cause + ". " +
           (lastSaved >= 0 ? "The checkpoint of step " + std::to_string(lastSaved) + " in \"" + o.out + "\" is kept. "
                           : std::string("No checkpoint had been saved yet. ")) +
           "Start again with a smaller --batch or --size, or free memory on the device (other programs, other runs)" +
           (lastSaved >= 0 ? " and --resume" : "");
}

std::uint64_t fileSize(const fs::path &path)
{
    std::error_code ec;
    const auto size = fs::file_size(path, ec);
    return ec ? 0 : static_cast<std::uint64_t>(size);
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

bool isOutOfMemory(const std::exception &e)
{
    if (dynamic_cast<const c10::OutOfMemoryError *>(&e))
        return true;
    const auto *torchError = dynamic_cast<const c10::Error *>(&e);
    const std::string what = torchError ? torchError->what_without_backtrace() : e.what();
    for (const char *phrase : {"not enough memory", "can't allocate memory", "out of memory", "out of CPU memory"})
        if (what.find(phrase) != std::string::npos)
            return true;
    return false;
}

std::vector<std::string> optionProblems(const TrainOptions &o)
{
    std::vector<std::string> problems;
    if (o.out.empty())
        problems.push_back("train: --out (the run folder) is required");
    if (o.method.empty() && !o.resume)
        problems.push_back("train: --method is required (unless --resume)");
    if (o.data.empty() && !o.resume)
        problems.push_back("train: --data (the dataset folder) is required (unless --resume)");
    if (o.iters <= 0)
        problems.push_back("train: --iters " + std::to_string(o.iters) + " must be positive");
    if (o.batch <= 0)
        problems.push_back("train: --batch " + std::to_string(o.batch) + " must be positive");
    if (o.saveEvery <= 0)
        problems.push_back("train: --save-every " + std::to_string(o.saveEvery) + " must be positive");
    if (o.valEvery < 0)
        problems.push_back("train: --val-every " + std::to_string(o.valEvery) + " must be 0 (only at the end) or positive");
    if (const std::string problem = vision::precisionProblem(o.precision); !problem.empty())
        problems.push_back("train: --precision: " + problem);
    if (o.lr && !(*o.lr > 0))
        problems.push_back("train: --lr " + lrText(*o.lr) + " must be positive");
    try {
        const int multiple = vision::inputSizeMultiple(o.backbone);
        if (o.size <= 0 || o.size % multiple != 0)
            problems.push_back("train: --size " + std::to_string(o.size) + " must be a positive multiple of " +
                               std::to_string(multiple) + " for " + o.backbone);
    } catch (const Error &e) {
        problems.push_back(std::string("train: --backbone: ") + e.what());
    }
    return problems;
}

TrainResult train(const TrainOptions &given, const TrainCallbacks &callbacks, const CancelToken *cancel,
                  ProcessGroup *group)
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
    torch::Device device = resolveDevice(o.device);
    // A distributed run: every rank trains, rank 0 alone writes the run folder (and locks it).
    std::unique_ptr<ProcessGroup> ownGroup;
    if (o.distributed && !group) {
        const auto context = DistributedContext::fromEnvironment();
        if (device.is_cuda() && o.device.find(':') == std::string::npos) // each rank its own GPU
            device = torch::Device(torch::kCUDA, static_cast<torch::DeviceIndex>(context.localRank));
        ownGroup = std::make_unique<ProcessGroup>(context, device);
        group = ownGroup.get();
    }
    const bool writer = !group || group->rank() == 0;
    const int world = group ? group->worldSize() : 1;
    if (!o.resume && writer)
        refuseExistingRun(o, checkpointPath);
    // Held until train() returns: a second `wsss train` into this folder (or the studio) is refused.
    std::optional<vision::FolderLock> lock;
    if (writer) {
        lock.emplace(o.out, "wsss train --method " + o.method);
        for (const auto &stale : vision::removeStaleTemporaries(o.out))
            if (callbacks.onWarning)
                callbacks.onWarning("removed \"" + stale.string() + "\", left by a save that was interrupted");
    }
    const auto start = std::chrono::steady_clock::now();
    torch::manual_seed(o.seed);
    std::mt19937_64 rng(o.seed);

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
        initAuxiliary(*method, callbacks.onWarning);
        method->to(device);
    }
    if (dataset.labelMap.names() != header.labelMap.names())
        throw Error("train --resume: the classes of \"" + o.data + "\" are not the run's");
    const TrainRecipe recipe = resolveRecipe(method->recipe(), o);
    header.train = optionsToJson(o, recipe);
    // Every rank starts from rank 0's weights; gradients are averaged after each backward.
    std::optional<GradientSync> sync;
    if (group) {
        sync.emplace(*group, *method);
        sync->broadcastFromRankZero();
        header.train["world_size"] = world; // the global batch is batch × world_size
    }
    method->train();

    TrainingSet set(dataset, o.size, method->needsMasks(), callbacks.onWarning);
    if (set.size() < static_cast<std::size_t>(o.batch) * world && callbacks.onWarning)
        callbacks.onWarning("--batch " + std::to_string(o.batch) + " is larger than the " + std::to_string(set.size()) +
                            " images of split \"" + o.split + "\": every batch repeats images");
    const auto norm = method->backboneInfo().norm;

    auto optimizer = makeOptimizer(recipe, method->parameterGroups(recipe));
    std::vector<double> baseLr;
    for (auto &g : optimizer->param_groups())
        baseLr.push_back(g.options().get_lr());

    std::int64_t firstStep = 0;
    std::int64_t lastSaved = -1; // the step of the checkpoint on disk, -1 while there is none
    double smoothed = 0;
    const std::string model = resumeModelSignature(header.method, header.backbone, *optimizer);
    if (o.resume) {
        const auto state = loadResumeState(o.out, resumed.step, *optimizer, model);
        restoreResumeState(state, rng, set, device);
        firstStep = lastSaved = state.step;
        smoothed = state.smoothedLoss;
    }

    const std::string metricsPath = (fs::path(o.out) / "metrics.jsonl").string();
    std::ofstream metrics;
    if (writer) {
        fs::create_directories(o.out);
        if (o.resume)
            keepLinesUpToStep(metricsPath, firstStep);
        if (!o.resume)
            removeResumeStates(o.out); // a run started over (--force) must not leave another run's states
        metrics.open(metricsPath, o.resume ? std::ios::app : std::ios::trunc);
        if (!metrics)
            throw Error("train: cannot write \"" + metricsPath + "\"");
    }

    // A save writes the new step's state, then its checkpoint (the switch), then removes older
    // states: whenever it stops, the checkpoint on disk has its own step's state beside it. A
    // failed save removes what it wrote and keeps the last good pair.
    auto notify = [&](SavePoint point, std::int64_t step) {
        if (callbacks.onSave)
            callbacks.onSave(point, step);
    };
    auto guardedSave = [&](std::int64_t stepsDone, const std::function<void()> &save) {
        try {
            save();
        } catch (const Error &e) {
            const fs::path state = resumeStatePath(o.out, stepsDone);
            if (lastSaved != stepsDone && fs::exists(state))
                fs::remove(state); // its checkpoint never landed
            // The next save writes a state and a checkpoint beside the kept ones before it removes them.
            std::uint64_t needed =
                lastSaved >= 0 ? fileSize(resumeStatePath(o.out, lastSaved)) + fileSize(checkpointPath) : 0;
            if (needed == 0) // nothing on disk to go by: the tensors, twice more for the optimiser's moments
                for (const auto &[name, t] : vision::stateDict(*method))
                    needed += 3 * static_cast<std::uint64_t>(t.numel() * t.element_size());
            throw Error(saveFailure(e.what(), stepsDone, lastSaved, o.out, needed));
        }
    };
    // A divergence stops the run with the last good checkpoint and the advice that helps: the same
    // learning rate would diverge again.
    auto diverged = [&](const std::string &what) {
        return "train: " + what + "; stopped. " +
               (lastSaved >= 0 ? "The checkpoint of step " + std::to_string(lastSaved) + " in \"" + o.out +
                                     "\" is kept; the same learning rate would diverge again, so continue with a lower "
                                     "one, e.g. --resume --lr " + lrText(recipe.lr / 10) + " (the run's is " +
                                     lrText(recipe.lr) + ")"
                               : "No checkpoint had been saved yet; start again with a lower --lr (the run's is " +
                                     lrText(recipe.lr) + ")");
    };
    // Weights gone to inf or NaN (an update that overflowed) are never saved over a good checkpoint.
    auto requireFiniteWeights = [&](std::int64_t stepsDone) {
        torch::NoGradGuard noGrad;
        for (const auto &p : method->parameters())
            if (!torch::isfinite(p).all().item<bool>())
                throw Error(diverged("the weights are not finite after step " + std::to_string(stepsDone)));
    };
    // The step's own copy (a hard link: the next save replaces checkpoint.wsss by a rename, so the
    // linked file stays this step's), then the callback.
    auto checkpointDone = [&](std::int64_t stepsDone) {
        std::string kept;
        if (o.keepCheckpoints) {
            char name[48];
            std::snprintf(name, sizeof name, "checkpoint-step%06lld.wsss", static_cast<long long>(stepsDone));
            const fs::path copy = fs::path(o.out) / name;
            std::error_code ec;
            fs::remove(copy, ec);
            fs::create_hard_link(checkpointPath, copy, ec);
            if (ec) // a file system without hard links
                fs::copy_file(checkpointPath, copy, fs::copy_options::overwrite_existing, ec);
            if (ec && callbacks.onWarning)
                callbacks.onWarning("cannot keep \"" + copy.string() + "\" (" + ec.message() + ")");
            if (!ec)
                kept = copy.string();
        }
        if (callbacks.onCheckpoint)
            callbacks.onCheckpoint(stepsDone, kept);
    };
    // Scores the pseudo-masks on the val split, records them in metrics.jsonl and reports them.
    const bool hasVal = writer &&
        o.valSplit != "none" && fs::exists(fs::path(o.data) / "ImageSets" / "Segmentation" / (o.valSplit + ".txt"));
    std::optional<vision::VocDataset> valSet;
    auto validateNow = [&](std::int64_t stepsDone) {
        if (!valSet)
            valSet = vision::loadVocDataset(o.data, o.valSplit);
        method->eval();
        LoadedModel current{header, method};
        const auto scores = validateModel(current, *valSet, device, vision::kDefaultBgThreshold, callbacks.onWarning);
        method->train();
        std::map<std::string, double> values;
        for (const auto &[key, value] : scores.items())
            values[key] = value.get<double>();
        metrics << nlohmann::json{{"step", stepsDone}, {"val", scores}}.dump() << "\n" << std::flush;
        if (callbacks.onValidation)
            callbacks.onValidation(stepsDone, values);
        return scores;
    };
    auto saveProgress = [&](std::int64_t stepsDone) {
        requireFiniteWeights(stepsDone);
        guardedSave(stepsDone, [&] {
            auto state = captureResumeState(stepsDone, smoothed, rng, set, device);
            state.model = model;
            saveResumeState(o.out, state, *optimizer);
            notify(SavePoint::StateWritten, stepsDone);
            header.step = stepsDone;
            header.metrics = {{"final_loss", smoothed}};
            saveCheckpoint(checkpointPath, header, *method);
            lastSaved = stepsDone;
            notify(SavePoint::CheckpointWritten, stepsDone);
            checkpointDone(stepsDone);
            removeResumeStates(o.out, stepsDone);
            notify(SavePoint::OldStatesRemoved, stepsDone);
        });
    };

    TrainResult result;
    result.checkpointPath = checkpointPath;
    vision::ThreadBudget threads(at::get_num_threads()); // fewer while other programs keep the cores busy
    for (std::int64_t step = firstStep; step < o.iters; ++step) {
        threads.adapt();
        if (cancel && cancel->cancelled()) {
            if (writer && given.saveOnCancel && step > lastSaved && step > 0) // the steps done are kept: --resume continues from here
                saveProgress(step);
            throw Cancelled{};
        }
        const double factor = polyWarmupFactor(step, o.iters, recipe.warmup, recipe.warmupRatio, recipe.polyPower);
        for (std::size_t g = 0; g < optimizer->param_groups().size(); ++g)
            optimizer->param_groups()[g].options().set_lr(baseLr[g] * factor);

        // Distributed: the global batch on every rank, this rank's slice kept (data_shard.h).
        Batch batch = set.next(rng, o.batch * world, norm, true);
        if (group)
            batch = rankSlice(batch, group->rank(), o.batch);
        batch.images = batch.images.to(device);
        batch.labels = batch.labels.to(device);
        if (batch.masks.defined())
            batch.masks = batch.masks.to(device);
        batch.step = step;
        batch.totalSteps = o.iters;
        StepResult r;
        std::map<std::string, double> terms; // the losses logged: averaged over the ranks when distributed
        double value = 0;
        try {
            {
                const vision::PrecisionScope precision(o.precision, device);
                r = method->trainStep(batch);
            }
            auto loss = r.total();
            for (const auto &[name, l] : r.losses)
                terms[name] = l.item<double>();
            terms["total"] = loss.item<double>();
            if (group) // a non-finite loss on one rank stops every rank at the same step
                terms = group->mean(terms, "all-reduce of the step's losses");
            value = terms.at("total");
            if (!std::isfinite(value))
                throw Error(diverged("the loss is not finite at step " + std::to_string(step + 1) + " (" +
                                     describeLosses(r) + ")"));
            optimizer->zero_grad();
            loss.backward();
            if (sync)
                sync->allReduceGradients();
            optimizer->step();
        } catch (const c10::Error &e) {
            if (!isOutOfMemory(e))
                throw;
            throw Error(outOfMemory(e.what_without_backtrace(), device.str(), step + 1, o, lastSaved));
        }

        smoothed = step == 0 ? value : 0.95 * smoothed + 0.05 * value;
        StepLog log;
        log.step = step + 1;
        log.total = o.iters;
        log.lr = baseLr.front() * factor;
        log.losses = terms;
        log.logs = r.logs;
        if (writer && (log.step % o.logEvery == 0 || log.step == o.iters)) {
            nlohmann::json line = {{"step", log.step}, {"lr", log.lr}, {"loss", log.losses}};
            if (!log.logs.empty())
                line["logs"] = log.logs;
            metrics << line.dump() << "\n" << std::flush;
            if (!metrics)
                throw Error(saveFailure("cannot write \"" + metricsPath + "\"", log.step, lastSaved, o.out,
                                        std::uint64_t{1} << 20));
        }
        result.finalLoss = smoothed;
        const bool saveStep = log.step % o.saveEvery == 0 && log.step < o.iters;
        const bool valStep = o.valEvery > 0 && log.step % o.valEvery == 0 && log.step < o.iters;
        if (writer && saveStep)
            saveProgress(log.step);
        if (hasVal && valStep)
            validateNow(log.step);
        // The other ranks wait for rank 0's save and validation however long they take (a rank 0
        // that exits is still an error at once).
        if (group && (saveStep || valStep))
            group->waitForRankZero("waiting for rank 0's save and validation", std::chrono::hours(24));
        if (callbacks.onStep)
            callbacks.onStep(log);
    }

    method->eval();
    if (!writer) { // rank 0 validates and writes the checkpoint
        result.checkpointPath.clear();
        result.steps = o.iters;
        result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
        return result;
    }
    header.step = o.iters;
    header.metrics = {{"final_loss", smoothed}};
    if (hasVal) {
        const auto scores = validateNow(o.iters);
        method->eval();
        for (const auto &[key, value] : scores.items()) {
            header.metrics[key] = value;
            result.metrics[key] = value.get<double>();
        }
    }
    requireFiniteWeights(o.iters);
    guardedSave(o.iters, [&] { saveCheckpoint(checkpointPath, header, *method); });
    checkpointDone(o.iters);
    removeResumeStates(o.out);
    result.steps = o.iters;
    result.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return result;
}

} // namespace wsss::training
