#include "training/engine/training_catalog.h"

#include "training/methods/config_overrides.h"
#include "training/methods/method_registry.h"
#include "vision/backbones/backbone_registry.h"
#include "vision/core/error.h"
#include "vision/io/folder_lock.h"
#include "vision/io/voc_reader.h"
#include "vision/weights/safetensors.h"

#include <ATen/Parallel.h>
#include <torch/cuda.h>

#include <filesystem>

namespace wsss::training {

namespace fs = std::filesystem;

std::vector<MethodDescription> methodCatalog()
{
    std::vector<MethodDescription> out;
    for (const auto &name : methodNames()) {
        // A method's defaults are what its constructor resolves; the demo preset is cheap to build.
        const auto method = createMethod({name, "vit_demo_patch8", 1, nlohmann::json::object()});
        out.push_back({name, method->config(), method->recipe().toJson(), method->needsMasks()});
    }
    return out;
}

std::vector<std::string> backbonePresets()
{
    return vision::backboneNames();
}

std::vector<DeviceDescription> availableDevices()
{
    std::vector<DeviceDescription> out;
    out.push_back({"cpu", "CPU (" + std::to_string(at::get_num_threads()) + " threads)", 0});
    if (torch::cuda::is_available())
        for (std::size_t i = 0; i < torch::cuda::device_count(); ++i) {
            const std::string id = "cuda:" + std::to_string(i);
            out.push_back({id, id + " (GPU " + std::to_string(i) + ")", 0});
        }
    return out;
}

std::vector<std::string> checkTrainOptions(const TrainOptions &o)
{
    auto problems = optionProblems(o);
    if (o.resume)
        return problems; // the run's stored options were checked when it started

    // Method and config: the method rejects unknown fields by name.
    std::optional<bool> needsMasks;
    try {
        const auto method = createMethod({o.method, o.backbone, 1, configOverrides(o.configFile, o.sets)});
        needsMasks = method->needsMasks();
        for (const auto &problem : method->startProblems())
            problems.push_back("method config: " + problem);
    } catch (const std::exception &e) {
        problems.push_back(std::string("method config: ") + e.what());
    }

    if (!o.weights.empty() && o.weights != "none") {
        try {
            vision::requireSafetensorsFile(o.weights, "pretrained weights");
        } catch (const std::exception &e) {
            problems.push_back(std::string(e.what()) + " (choose a .safetensors file, or leave the field empty for the "
                                                       "preset's bundled weights)");
        }
    }

    if (!o.data.empty()) {
        try {
            const auto dataset = vision::loadVocDataset(o.data, o.split);
            std::size_t labelled = 0, masked = 0;
            for (const auto &item : dataset.items) {
                labelled += item.labels.empty() ? 0 : 1;
                masked += item.maskPath.empty() ? 0 : 1;
            }
            if (labelled == 0)
                problems.push_back("dataset \"" + o.data + "\" split \"" + o.split +
                                   "\" has no image with a class label (from Annotations/ or SegmentationClass/); "
                                   "choose another split or dataset");
            else if (needsMasks.value_or(false) && masked == 0)
                problems.push_back("method \"" + o.method + "\" trains on ground-truth masks, and split \"" + o.split +
                                   "\" has none; choose a weakly supervised method or a split with masks");
            else if (static_cast<std::size_t>(o.batch) > dataset.items.size())
                problems.push_back("batch size " + std::to_string(o.batch) + " is larger than the " +
                                   std::to_string(dataset.items.size()) + " images of split \"" + o.split +
                                   "\"; choose at most " + std::to_string(dataset.items.size()));
        } catch (const std::exception &e) {
            problems.push_back(std::string("dataset: ") + e.what());
        }
    }

    if (!o.out.empty()) {
        const fs::path out(o.out);
        std::error_code ec;
        if (const auto holder = vision::FolderLock::holder(out); !holder.empty())
            problems.push_back("run folder \"" + o.out + "\" is in use (" + holder + "); choose another folder");
        else if (!o.force && (fs::exists(out / "checkpoint.wsss", ec) || fs::exists(out / "metrics.jsonl", ec)))
            problems.push_back("run folder \"" + o.out + "\" already holds a run; choose another folder, or "
                               "overwrite it (force)");
        else if (fs::exists(out, ec) && !fs::is_directory(out, ec))
            problems.push_back("run folder \"" + o.out + "\" is a file; choose a folder");
    }

    if (o.device.rfind("cuda", 0) == 0) {
        const auto count = torch::cuda::is_available() ? torch::cuda::device_count() : 0;
        std::size_t index = 0;
        try {
            index = o.device.size() > 5 ? std::stoul(o.device.substr(5)) : 0;
        } catch (const std::exception &) {
            index = count; // not a number: reported below as a device LibTorch does not see
        }
        if (index >= count)
            problems.push_back("device \"" + o.device + "\": " +
                               (count == 0 ? std::string("LibTorch sees no CUDA device here; choose the CPU")
                                           : "LibTorch sees " + std::to_string(count) + " CUDA devices (cuda:0…cuda:" +
                                                 std::to_string(count - 1) + ")"));
    }
    return problems;
}

} // namespace wsss::training
