#include "training/export/dataset_inference.h"

#include "training/methods/inference.h"
#include "vision/core/error.h"
#include "vision/io/atomic_write.h"
#include "vision/io/folder_lock.h"
#include "vision/io/image_io.h"
#include "vision/io/labelmap_file.h"
#include "vision/io/npy.h"
#include "vision/io/palette_png.h"
#include "vision/io/voc_reader.h"

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include <algorithm>
#include <filesystem>
#include <fstream>

namespace wsss::training {

namespace fs = std::filesystem;

namespace {

std::string joined(const std::vector<std::string> &names)
{
    std::string text;
    for (const auto &n : names)
        text += (text.empty() ? "" : ", ") + n;
    return text;
}

// The output is new, empty, or an earlier inference output (its manifest.json says so). Anything
// else may be a user's data (the dataset itself, its ground truth, a folder of other files), which
// masks and a label map must never overwrite.
void checkOutputFolder(const fs::path &out, const fs::path &data)
{
    std::error_code ec;
    if (!fs::exists(out, ec))
        return;
    if (!fs::is_directory(out, ec))
        throw Error("--out \"" + out.string() + "\" is a file, not a folder");
    if (fs::exists(data, ec) && fs::equivalent(out, data, ec))
        throw Error("--out \"" + out.string() + "\" is the dataset itself: its ground truth (SegmentationClass/, "
                    "labelmap.txt) would be overwritten by pseudo-masks; choose another folder");
    const fs::path manifest = out / "manifest.json";
    if (fs::is_regular_file(manifest, ec)) {
        std::ifstream in(manifest);
        const auto json = nlohmann::json::parse(in, nullptr, false);
        if (json.is_object() && json.contains("method") && json.contains("rule"))
            return; // an earlier run's output: this run replaces it
    }
    std::vector<std::string> found;
    for (const auto &entry : fs::directory_iterator(out, ec)) {
        const std::string name = entry.path().filename().string();
        if (name == vision::FolderLock::kFileName || name.find(".tmp-") != std::string::npos)
            continue;
        found.push_back(name + (entry.is_directory() ? "/" : ""));
    }
    if (found.empty())
        return;
    std::sort(found.begin(), found.end());
    const bool dataset = std::count(found.begin(), found.end(), "JPEGImages/") ||
                         std::count(found.begin(), found.end(), "Annotations/");
    if (found.size() > 4)
        found.resize(4), found.push_back("…");
    throw Error("--out \"" + out.string() + "\" " +
                (dataset ? "holds a dataset" : "holds files that no `wsss infer` wrote") + " (" + joined(found) +
                "); pseudo-masks go to a new or empty folder, or to an earlier output of `wsss infer`");
}

} // namespace

DatasetInferenceResult inferDataset(LoadedModel &model, const torch::Device &device,
                                    const DatasetInferenceOptions &o, const DatasetInferenceCallbacks &callbacks)
{
    o.rule.validate();
    auto warn = [&](const std::string &message) {
        if (callbacks.warning)
            callbacks.warning(message);
    };
    const auto dataset = vision::loadVocDataset(o.data, o.split);
    for (const auto &w : dataset.warnings)
        warn(w);
    // Label indices mean the checkpoint's classes; another list would shift every class.
    if (dataset.labelMap.names() != model.header.labelMap.names())
        throw Error("the classes of \"" + o.data + "\" (" + joined(dataset.labelMap.names()) +
                    (fs::exists(fs::path(o.data) / "labelmap.txt") ? ", from its labelmap.txt"
                                                                   : ", the VOC classes: it has no labelmap.txt") +
                    ") are not the checkpoint's (" + joined(model.header.labelMap.names()) + ")");
    const fs::path out(o.out);
    checkOutputFolder(out, o.data);
    const vision::FolderLock lock(out, "wsss infer of " + o.split + " with " + model.header.method);
    for (const auto &stale : vision::removeStaleTemporaries(out))
        warn("removed \"" + stale.string() + "\", left by a write that was interrupted");
    const auto palette = vision::paletteFor(model.header.labelMap);
    fs::create_directories(out / "SegmentationClass");
    if (o.saveMaps)
        fs::create_directories(out / "maps");

    DatasetInferenceResult result;
    result.total = static_cast<std::int64_t>(dataset.items.size());
    auto manifest = [&] {
        nlohmann::json m = {{"method", model.header.method},
                            {"backbone", model.header.backbone},
                            {"checkpoint", o.checkpoint.empty() ? std::string() : fs::absolute(o.checkpoint).string()},
                            {"checkpoint_step", model.header.step},
                            {"data", fs::absolute(o.data).string()},
                            {"split", o.split},
                            {"rule", o.rule.toJson()},
                            {"map", o.map.empty() ? model.method->primaryMap() : o.map},
                            {"images", result.written},
                            {"skipped", result.skipped},
                            {"complete", result.complete},
                            {"maps_saved", o.saveMaps},
                            {"corrected", nlohmann::json::array()}};
        if (!result.error.empty())
            m["error"] = result.error;
        return m.dump(2) + "\n";
    };
    // Until the run ends, the manifest says it is incomplete: a kill or a full disk that keeps the
    // last one from being written leaves an output that does not claim to be whole.
    result.complete = false;
    vision::writeLabelMapFile((out / "labelmap.txt").string(), model.header.labelMap);
    vision::atomicWriteText(out / "manifest.json", manifest());
    result.complete = true;
    if (callbacks.started)
        callbacks.started(result.total);
    std::string ids;
    std::int64_t done = 0;
    for (const auto &item : dataset.items) {
        if (callbacks.stopRequested && callbacks.stopRequested()) {
            result.complete = false;
            break;
        }
        // A bad image is skipped; a failed write (full disk, no permission) stops the run, since
        // every later image would fail the same way and the output would lie about what it holds.
        cv::Mat mask;
        torch::Tensor maps;
        try {
            const cv::Mat rgb = vision::readImageRgb(item.imagePath);
            auto output = inferImage(model, rgb, false, device, item.labels);
            mask = pseudoMask(model, output, item.labels, o.rule, rgb, o.map);
            if (o.saveMaps)
                maps = methodMap(model, output, o.map);
        } catch (const UnknownMapError &) {
            throw; // the map names no map of this method: every image would fail
        } catch (const std::exception &e) {
            warn(std::string(e.what()) + " (skipped)");
            result.skipped.push_back(item.id);
        }
        if (!mask.empty()) {
            const fs::path maskPath = out / "SegmentationClass" / (item.id + ".png");
            try {
                vision::writeLabelPng(maskPath.string(), mask, palette);
                if (o.saveMaps)
                    vision::writeNpy((out / "maps" / (item.id + ".npy")).string(), maps.data_ptr<float>(),
                                     maps.sizes().vec());
            } catch (const std::exception &e) {
                std::error_code ec;
                fs::remove(maskPath, ec); // a mask without its maps would disagree with the list
                result.complete = false;
                result.error = e.what();
                break;
            }
            ids += item.id + "\n";
            ++result.written;
        }
        if (callbacks.progress)
            callbacks.progress(++done, result.total, item.id);
    }
    const fs::path list = out / "ImageSets" / "Segmentation" / (o.split + ".txt");
    if (result.error.empty()) {
        vision::atomicWriteText(list, ids);
        vision::atomicWriteText(out / "manifest.json", manifest()); // last: it says the output is whole
    } else {
        // The disk may have room for one small file only (the failed write's pages): the manifest
        // with the reason goes first.
        try {
            vision::atomicWriteText(out / "manifest.json", manifest());
            vision::atomicWriteText(list, ids);
        } catch (const std::exception &e) {
            result.error += "; " + std::string(e.what());
        }
    }
    if (!result.error.empty())
        throw Error(result.error + "; stopped after " + std::to_string(result.written) + " of " +
                    std::to_string(result.total) + " images (\"" + o.out +
                    "\" keeps the masks written before, listed with \"complete\": false in its manifest)");
    return result;
}

} // namespace wsss::training
