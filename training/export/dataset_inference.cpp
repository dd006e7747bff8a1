#include "training/export/dataset_inference.h"

#include "training/checkpoint/file_hash.h"
#include "training/distributed/data_shard.h"
#include "training/distributed/process_group.h"
#include "training/methods/inference.h"
#include "vision/core/error.h"
#include "vision/core/thread_budget.h"
#include "vision/io/atomic_write.h"
#include "vision/io/folder_lock.h"
#include "vision/io/image_io.h"
#include "vision/io/labelmap_file.h"
#include "vision/io/npy.h"
#include "vision/io/palette_png.h"
#include "vision/io/voc_reader.h"

#include <nlohmann/json.hpp>
#include <ATen/Parallel.h>
#include <torch/types.h>

#include <algorithm>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <optional>
#include <set>
#include <sstream>

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

// A hand-corrected mask, checked against its image: the export writes it as the image's label, so
// another size or a class index the label map lacks would be a wrong dataset, not a warning.
cv::Mat readCorrectedMask(const fs::path &path, const cv::Mat &rgb, const vision::LabelMap &labelMap)
{
    cv::Mat mask = vision::readLabelPng(path.string());
    if (mask.rows != rgb.rows || mask.cols != rgb.cols)
        throw Error("corrected mask \"" + path.string() + "\" is " + std::to_string(mask.cols) + "×" +
                    std::to_string(mask.rows) + ", its image " + std::to_string(rgb.cols) + "×" +
                    std::to_string(rgb.rows));
    for (int y = 0; y < mask.rows; ++y) {
        const auto *row = mask.ptr<std::uint8_t>(y);
        for (int x = 0; x < mask.cols; ++x)
            if (row[x] >= labelMap.size() && row[x] != vision::kIgnoreLabel)
                throw Error("corrected mask \"" + path.string() + "\" has class " + std::to_string(row[x]) +
                            " at pixel (" + std::to_string(x) + ", " + std::to_string(y) + "); the label map has 0.." +
                            std::to_string(labelMap.size() - 1) + " and 255 (ignore)");
    }
    return mask;
}

// The checkpoint's SHA-256 for the manifest; a checkpoint that cannot be read any more (the
// model was loaded before it moved) is a warning and a null hash, not a failed run.
nlohmann::json checkpointHash(const DatasetInferenceOptions &o, const std::function<void(const std::string &)> &warn)
{
    if (!o.checkpointSha256.empty())
        return o.checkpointSha256;
    if (o.checkpoint.empty())
        return nullptr;
    try {
        return fileSha256(o.checkpoint);
    } catch (const std::exception &e) {
        warn(std::string(e.what()) + " (the manifest records no checkpoint_sha256)");
        return nullptr;
    }
}

// A distributed inference's results, through the group: rank 0 gets every rank's masks listed
// in the split's order, as one process lists them (`ids` one per line); the others keep theirs.
void gatherResults(ProcessGroup &group, const vision::VocDataset &dataset, DatasetInferenceResult &result,
                   std::string &ids)
{
    const nlohmann::json mine = {{"written", ids},                {"skipped", result.skipped},
                                 {"corrected", result.corrected}, {"rejected", result.leftOut},
                                 {"complete", result.complete},   {"error", result.error}};
    // The ranks' shares differ by one image at most: they finish within the group's timeout of
    // each other on like machines (WSSS_DIST_TIMEOUT raises it); a rank that exits is seen at once.
    const auto texts = group.gatherText("infer", mine.dump());
    if (group.rank() != 0)
        return;
    std::set<std::string> written, skipped, corrected, rejected;
    result.complete = true;
    result.error.clear();
    for (std::size_t rank = 0; rank < texts.size(); ++rank) {
        const auto j = nlohmann::json::parse(texts[rank]);
        std::istringstream lines(j.at("written").get<std::string>());
        for (std::string id; std::getline(lines, id);)
            written.insert(id);
        for (const auto &id : j.at("skipped"))
            skipped.insert(id.get<std::string>());
        for (const auto &id : j.at("corrected"))
            corrected.insert(id.get<std::string>());
        for (const auto &id : j.at("rejected"))
            rejected.insert(id.get<std::string>());
        result.complete = result.complete && j.at("complete").get<bool>();
        if (const auto error = j.at("error").get<std::string>(); !error.empty())
            result.error += (result.error.empty() ? "" : "; ") + ("rank " + std::to_string(rank) + ": " + error);
    }
    ids.clear();
    result.written = 0;
    result.skipped.clear();
    result.corrected.clear();
    result.leftOut.clear();
    for (const auto &item : dataset.items) {
        if (written.count(item.id)) {
            ids += item.id + "\n";
            ++result.written;
        }
        if (skipped.count(item.id))
            result.skipped.push_back(item.id);
        if (corrected.count(item.id))
            result.corrected.push_back(item.id);
        if (rejected.count(item.id))
            result.leftOut.push_back(item.id);
    }
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
    // Distributed: rank 0 prepares the folder; every rank writes the masks of its share.
    const bool writer = !o.group || o.group->rank() == 0;
    const int rank = o.group ? o.group->rank() : 0, world = o.group ? o.group->worldSize() : 1;
    std::optional<vision::FolderLock> lock;
    if (writer) {
        checkOutputFolder(out, o.data);
        lock.emplace(out, "wsss infer of " + o.split + " with " + model.header.method);
        for (const auto &stale : vision::removeStaleTemporaries(out))
            warn("removed \"" + stale.string() + "\", left by a write that was interrupted");
        fs::create_directories(out / "SegmentationClass");
        if (o.saveMaps)
            fs::create_directories(out / "maps");
    }
    const auto palette = vision::paletteFor(model.header.labelMap);

    DatasetInferenceResult result;
    result.total = static_cast<std::int64_t>(dataset.items.size());
    const nlohmann::json sha256 = writer ? checkpointHash(o, warn) : nlohmann::json(nullptr);
    auto manifest = [&] {
        nlohmann::json m = {{"method", model.header.method},
                            {"backbone", model.header.backbone},
                            {"checkpoint", o.checkpoint.empty() ? std::string() : fs::absolute(o.checkpoint).string()},
                            {"checkpoint_sha256", sha256},
                            {"checkpoint_step", model.header.step},
                            {"data", fs::absolute(o.data).string()},
                            {"split", o.split},
                            {"rule", o.rule.toJson()},
                            {"map", o.map.empty() ? model.method->primaryMap() : o.map},
                            {"images", result.written},
                            {"skipped", result.skipped},
                            {"complete", result.complete},
                            {"maps_saved", o.saveMaps},
                            {"corrected", result.corrected},
                            {"rejected", result.leftOut}};
        if (!model.configOverrides.empty())
            m["config_overrides"] = model.configOverrides; // the maps are not the checkpoint's own
        if (model.precision != "fp32")
            m["precision"] = model.precision;
        if (!result.error.empty())
            m["error"] = result.error;
        return m.dump(2) + "\n";
    };
    // Until the run ends, the manifest says it is incomplete: a kill or a full disk that keeps the
    // last one from being written leaves an output that does not claim to be whole.
    result.complete = false;
    if (writer) {
        vision::writeLabelMapFile((out / "labelmap.txt").string(), model.header.labelMap);
        vision::atomicWriteText(out / "manifest.json", manifest());
    }
    result.complete = true;
    if (o.group)
        o.group->barrier("waiting for rank 0 to prepare --out");
    std::int64_t share = 0; // this process's images: all of them unless distributed
    for (std::size_t i = 0; i < dataset.items.size(); ++i)
        share += inShard(i, rank, world) ? 1 : 0;
    if (callbacks.started)
        callbacks.started(share);
    std::string ids;
    std::int64_t done = 0;
    std::size_t index = 0;
    vision::ThreadBudget threads(at::get_num_threads()); // fewer while other programs keep the cores busy
    const std::string mapKind = o.map.empty() ? model.method->primaryMap() : o.map;
    for (const auto &item : dataset.items) {
        if (!inShard(index++, rank, world))
            continue;
        threads.adapt();
        if (callbacks.stopRequested && callbacks.stopRequested()) {
            result.complete = false;
            break;
        }
        if (o.leaveOut.count(item.id)) {
            result.leftOut.push_back(item.id);
            if (callbacks.progress)
                callbacks.progress(++done, share, item.id);
            continue;
        }
        const fs::path correctedPath =
            o.correctedMasks.empty() ? fs::path() : fs::path(o.correctedMasks) / (item.id + ".png");
        std::error_code statError;
        const bool corrected = !correctedPath.empty() && fs::is_regular_file(correctedPath, statError);
        // A bad image is skipped; a failed write (full disk, no permission) stops the run, since
        // every later image would fail the same way and the output would lie about what it holds.
        cv::Mat rgb, mask;
        torch::Tensor maps;
        try {
            rgb = vision::readImageRgb(item.imagePath);
            // A corrected image needs the model only for its maps.
            if (!corrected || o.saveMaps) {
                auto output = inferImage(model, rgb, false, device, item.labels, {mapKind});
                if (!corrected)
                    mask = pseudoMask(model, output, item.labels, o.rule, rgb, o.map);
                if (o.saveMaps)
                    maps = methodMap(model, output, o.map);
            }
        } catch (const UnknownMapError &) {
            throw; // the map names no map of this method: every image would fail
        } catch (const std::exception &e) {
            warn(std::string(e.what()) + " (skipped)");
            result.skipped.push_back(item.id);
            rgb.release();
        }
        if (corrected && !rgb.empty())
            mask = readCorrectedMask(correctedPath, rgb, model.header.labelMap);
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
            if (corrected)
                result.corrected.push_back(item.id);
        }
        if (callbacks.progress)
            callbacks.progress(++done, share, item.id);
    }
    if (o.group) {
        const std::string ownError = result.error;
        gatherResults(*o.group, dataset, result, ids);
        if (!writer) { // rank 0 writes the list and the manifest
            if (!ownError.empty())
                throw Error(ownError + "; stopped (the masks written before stay in \"" + o.out + "\")");
            return result;
        }
    }
    const fs::path list = out / "ImageSets" / "Segmentation" / (o.split + ".txt");
    if (!result.error.empty() && o.discardOnFailure)
        throw Error(result.error + "; stopped after " + std::to_string(result.written) + " of " +
                    std::to_string(result.total) + " images");
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
