#include "training/loop/resume_state.h"

#include "training/loop/archive_values.h"
#include "vision/core/error.h"
#include "vision/io/atomic_write.h"

#include <ATen/Context.h>
#include <torch/serialize/input-archive.h>
#include <torch/serialize/output-archive.h>

#include <sstream>

namespace wsss::training {

namespace fs = std::filesystem;

namespace {

// A handle on the device's default generator (copies share the generator).
at::Generator generatorFor(const torch::Device &device)
{
    return at::globalContext().defaultGenerator(device.is_cuda() ? device : torch::Device(torch::kCPU));
}

bool isResumeState(const fs::path &p)
{
    const std::string name = p.filename().string();
    return name.rfind("resume-", 0) == 0 && p.extension() == ".state";
}

// "method backbone", the first line of a model signature.
std::string modelName(const std::string &signature)
{
    return signature.substr(0, signature.find('\n'));
}

} // namespace

std::string resumeModelSignature(const std::string &method, const std::string &backbone,
                                 const torch::optim::Optimizer &optimizer)
{
    std::string text = method + " " + backbone + "\n";
    for (const auto &group : optimizer.param_groups()) {
        for (const auto &p : group.params())
            text += c10::str(p.sizes()) + ";";
        text += "\n";
    }
    return text;
}

fs::path resumeStatePath(const fs::path &runDir, std::int64_t step)
{
    return runDir / ("resume-" + std::to_string(step) + ".state");
}

ResumeState captureResumeState(std::int64_t step, double smoothedLoss, const std::mt19937_64 &rng,
                               const TrainingSet &set, const torch::Device &device)
{
    ResumeState s;
    s.step = step;
    s.smoothedLoss = smoothedLoss;
    std::ostringstream text;
    text << rng;
    s.sampleRng = text.str();
    s.sampler = set.position();
    s.torchRng = generatorFor(torch::kCPU).get_state();
    if (device.is_cuda())
        s.cudaRng = generatorFor(device).get_state();
    return s;
}

void saveResumeState(const fs::path &runDir, const ResumeState &s, const torch::optim::Optimizer &optimizer)
{
    torch::serialize::OutputArchive archive, optim;
    optimizer.save(optim);
    archive.write("optimizer", optim);
    archive.write("step", c10::IValue(s.step));
    archive.write("smoothed_loss", c10::IValue(s.smoothedLoss));
    archive.write("sample_rng", c10::IValue(s.sampleRng));
    archive.write("sampler_order", torch::tensor(s.sampler.order, torch::kLong));
    archive.write("sampler_cursor", c10::IValue(s.sampler.cursor));
    archive.write("torch_rng", s.torchRng);
    if (s.cudaRng.defined())
        archive.write("cuda_rng", s.cudaRng.cpu());
    archive.write("model", c10::IValue(s.model));

    // Serialised in memory, then written by AtomicFile: LibTorch's file writer throws again from
    // its destructor when the disk is full, which ends the process (std::terminate).
    std::ostringstream bytes;
    const fs::path target = resumeStatePath(runDir, s.step);
    try {
        archive.save_to(bytes);
    } catch (const c10::Error &e) {
        throw Error("cannot write \"" + target.string() + "\": " + e.what_without_backtrace());
    }
    vision::atomicWriteText(target, bytes.str());
}

ResumeState loadResumeState(const fs::path &runDir, std::int64_t step, torch::optim::Optimizer &optimizer,
                            const std::string &model)
{
    const fs::path path = resumeStatePath(runDir, step);
    if (!fs::exists(path))
        throw Error("train --resume: \"" + path.string() + "\" is missing (the checkpoint is at step " +
                    std::to_string(step) + " and needs the optimiser state of that step)");
    ResumeState s;
    try {
        torch::serialize::InputArchive archive, optim;
        archive.load_from(path.string());
        c10::IValue v;
        if (archive.try_read("model", v)) {
            s.model = v.toStringRef();
            if (modelName(s.model) != modelName(model))
                throw Error("train --resume: \"" + path.string() + "\" holds the optimiser of a " + modelName(s.model) +
                            " run, but the checkpoint beside it is a " + modelName(model) +
                            " model: the checkpoint comes from another run");
            if (s.model != model)
                throw Error("train --resume: \"" + path.string() +
                            "\" holds the optimiser of other parameters than the checkpoint's " + modelName(model) +
                            " model (other classes or config): the checkpoint comes from another run");
        }
        archive.read("optimizer", optim);
        optimizer.load(optim);
        s.step = readArchiveInt(archive, "step");
        s.smoothedLoss = readArchiveDouble(archive, "smoothed_loss");
        s.sampleRng = readArchiveString(archive, "sample_rng");
        torch::Tensor order;
        archive.read("sampler_order", order);
        s.sampler.order.assign(order.data_ptr<std::int64_t>(), order.data_ptr<std::int64_t>() + order.numel());
        s.sampler.cursor = readArchiveInt(archive, "sampler_cursor");
        archive.read("torch_rng", s.torchRng);
        torch::Tensor cuda;
        if (archive.try_read("cuda_rng", cuda))
            s.cudaRng = cuda;
    } catch (const c10::Error &e) {
        throw Error("train --resume: cannot read \"" + path.string() + "\": " + e.what_without_backtrace());
    }
    if (s.step != step)
        throw Error("train --resume: \"" + path.string() + "\" holds step " + std::to_string(s.step) + ", not " +
                    std::to_string(step));
    return s;
}

void restoreResumeState(const ResumeState &s, std::mt19937_64 &rng, TrainingSet &set, const torch::Device &device)
{
    std::istringstream text(s.sampleRng);
    text >> rng;
    if (!text)
        throw Error("train --resume: the saved sampling generator state is unreadable");
    set.seek(s.sampler);
    generatorFor(torch::kCPU).set_state(s.torchRng);
    if (device.is_cuda() && s.cudaRng.defined())
        generatorFor(device).set_state(s.cudaRng);
}

void removeResumeStates(const fs::path &runDir, std::int64_t keep)
{
    if (!fs::exists(runDir))
        return;
    const fs::path kept = keep >= 0 ? resumeStatePath(runDir, keep) : fs::path();
    for (const auto &entry : fs::directory_iterator(runDir))
        if (isResumeState(entry.path()) && entry.path() != kept)
            fs::remove(entry.path());
}

} // namespace wsss::training
