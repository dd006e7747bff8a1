#include "training/loop/pretrain_state.h"

#include "training/loop/archive_values.h"
#include "vision/core/error.h"
#include "vision/io/atomic_write.h"

#include <ATen/Context.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <sstream>

namespace wsss::training {

namespace fs = std::filesystem;

fs::path pretrainStatePath(const std::string &out)
{
    return fs::path(out + ".resume");
}

nlohmann::json pretrainRunOptions(const PretrainOptions &o)
{
    return {{"backbone", o.backbone},
            {"weights", o.weights},
            {"iters", o.iters},
            {"batch", o.batch},
            {"size", o.size},
            {"lr", o.lr},
            {"warmup", o.warmup},
            {"schedule", o.schedule},
            {"label_smoothing", o.labelSmoothing},
            {"ema", o.emaDecay},
            {"multi_fraction", o.multiFraction},
            {"multi_size", o.multiSize},
            {"crop_min_area", o.augment.cropMinArea},
            {"flip", o.augment.flip},
            {"jitter", o.augment.jitter},
            {"cls_head", o.clsHead},
            {"precision", o.precision},
            {"seed", o.seed},
            {"eval_images", o.evalImages},
            {"eval_seed", o.evalSeed},
            {"half", o.half},
            {"eval_every", o.evalEvery},
            {"fashion_mnist_dir", o.fashionMnistDir}};
}

PretrainOptions withRunOptions(const PretrainOptions &sitting, const nlohmann::json &j)
{
    PretrainOptions o = sitting;
    try {
        o.backbone = j.at("backbone").get<std::string>();
        o.weights = j.at("weights").get<std::string>();
        o.iters = j.at("iters").get<int>();
        o.batch = j.at("batch").get<int>();
        o.size = j.at("size").get<int>();
        o.lr = j.at("lr").get<double>();
        o.warmup = j.at("warmup").get<int>();
        o.schedule = j.at("schedule").get<std::string>();
        o.labelSmoothing = j.at("label_smoothing").get<double>();
        o.emaDecay = j.at("ema").get<double>();
        o.multiFraction = j.at("multi_fraction").get<double>();
        o.multiSize = j.at("multi_size").get<int>();
        o.augment.cropMinArea = j.at("crop_min_area").get<double>();
        o.augment.flip = j.at("flip").get<bool>();
        o.augment.jitter = j.at("jitter").get<double>();
        o.clsHead = j.value("cls_head", 0.0); // states saved before the option had none
        o.precision = j.at("precision").get<std::string>();
        o.seed = j.at("seed").get<std::uint64_t>();
        o.evalImages = j.at("eval_images").get<int>();
        o.evalSeed = j.at("eval_seed").get<std::uint64_t>();
        o.half = j.at("half").get<bool>();
        o.fashionMnistDir = j.at("fashion_mnist_dir").get<std::string>();
        // The run's curve goes on at its own pace unless the sitting asks for another.
        if (sitting.evalEvery == 0)
            o.evalEvery = j.value("eval_every", 0);
    } catch (const nlohmann::json::exception &e) {
        throw Error("pretrain --resume: the options saved in \"" + pretrainStatePath(sitting.out).string() +
                    "\" are incomplete (" + e.what() + ")");
    }
    return o;
}

void savePretrainState(const std::string &out, const PretrainState &s, const std::mt19937_64 &rng,
                       torch::nn::Module &model, torch::nn::Module &ema, const torch::optim::Optimizer &optimizer)
{
    torch::serialize::OutputArchive archive, modelArchive, emaArchive, optimArchive;
    model.save(modelArchive);
    ema.save(emaArchive);
    optimizer.save(optimArchive);
    archive.write("model", modelArchive);
    archive.write("ema", emaArchive);
    archive.write("optimizer", optimArchive);
    archive.write("options", c10::IValue(s.options.dump()));
    archive.write("step", c10::IValue(s.step));
    archive.write("smoothed_loss", c10::IValue(s.smoothedLoss));
    archive.write("seconds", c10::IValue(s.seconds));
    std::ostringstream rngText;
    rngText << rng;
    archive.write("sample_rng", c10::IValue(rngText.str()));
    archive.write("torch_rng", at::globalContext().defaultGenerator(torch::kCPU).get_state());

    // Serialised in memory, then written by AtomicFile: LibTorch's file writer throws again from
    // its destructor when the disk is full, which ends the process (std::terminate).
    const fs::path target = pretrainStatePath(out);
    std::ostringstream bytes;
    try {
        archive.save_to(bytes);
    } catch (const c10::Error &e) {
        throw Error("pretrain: cannot write \"" + target.string() + "\": " + e.what_without_backtrace());
    }
    vision::atomicWriteText(target, bytes.str());
}

namespace {

torch::serialize::InputArchive openState(const fs::path &path)
{
    if (!fs::exists(path))
        throw Error("pretrain --resume: \"" + path.string() +
                    "\" is missing: there is no interrupted pretraining of this --out to continue");
    torch::serialize::InputArchive archive;
    try {
        archive.load_from(path.string());
    } catch (const c10::Error &e) {
        throw Error("pretrain --resume: cannot read \"" + path.string() + "\": " + e.what_without_backtrace());
    }
    return archive;
}

} // namespace

PretrainState peekPretrainState(const std::string &out)
{
    const fs::path path = pretrainStatePath(out);
    auto archive = openState(path);
    PretrainState s;
    try {
        s.options = nlohmann::json::parse(readArchiveString(archive, "options"));
        s.step = readArchiveInt(archive, "step");
        s.smoothedLoss = readArchiveDouble(archive, "smoothed_loss");
        s.seconds = readArchiveDouble(archive, "seconds");
    } catch (const std::exception &e) {
        throw Error("pretrain --resume: \"" + path.string() + "\" is not a pretraining state (" + e.what() + ")");
    }
    return s;
}

void loadPretrainState(const std::string &out, std::mt19937_64 &rng, torch::nn::Module &model, torch::nn::Module &ema,
                       torch::optim::Optimizer &optimizer)
{
    const fs::path path = pretrainStatePath(out);
    auto archive = openState(path);
    try {
        torch::serialize::InputArchive modelArchive, emaArchive, optimArchive;
        archive.read("model", modelArchive);
        model.load(modelArchive);
        archive.read("ema", emaArchive);
        ema.load(emaArchive);
        archive.read("optimizer", optimArchive);
        optimizer.load(optimArchive);
        std::istringstream rngText(readArchiveString(archive, "sample_rng"));
        rngText >> rng;
        if (!rngText)
            throw Error("pretrain --resume: the sampling generator saved in \"" + path.string() + "\" is unreadable");
        torch::Tensor torchRng;
        archive.read("torch_rng", torchRng);
        at::Generator generator = at::globalContext().defaultGenerator(torch::kCPU); // a handle on it
        generator.set_state(torchRng);
    } catch (const c10::Error &e) {
        throw Error("pretrain --resume: \"" + path.string() + "\" does not fit this run's model (" +
                    e.what_without_backtrace() + ")");
    }
}

} // namespace wsss::training
