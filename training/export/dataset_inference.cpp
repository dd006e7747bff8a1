#include "training/export/dataset_inference.h"

#include "training/methods/inference.h"
#include "vision/io/atomic_write.h"
#include "vision/io/image_io.h"
#include "vision/io/labelmap_file.h"
#include "vision/io/npy.h"
#include "vision/io/palette_png.h"
#include "vision/io/voc_reader.h"

#include <nlohmann/json.hpp>
#include <torch/types.h>

#include <filesystem>

namespace wsss::training {

namespace fs = std::filesystem;

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
    const auto palette = vision::paletteFor(model.header.labelMap);
    const fs::path out(o.out);
    fs::create_directories(out / "SegmentationClass");
    if (o.saveMaps)
        fs::create_directories(out / "maps");

    DatasetInferenceResult result;
    result.total = static_cast<std::int64_t>(dataset.items.size());
    if (callbacks.started)
        callbacks.started(result.total);
    std::string ids;
    std::int64_t done = 0;
    for (const auto &item : dataset.items) {
        if (callbacks.stopRequested && callbacks.stopRequested()) {
            result.complete = false;
            break;
        }
        try {
            const cv::Mat rgb = vision::readImageRgb(item.imagePath);
            auto output = inferImage(model, rgb, false, device, item.labels);
            const cv::Mat mask = pseudoMask(model, output, item.labels, o.rule, rgb, o.map);
            vision::writeLabelPng((out / "SegmentationClass" / (item.id + ".png")).string(), mask, palette);
            if (o.saveMaps) {
                const auto &maps = methodMap(model, output, o.map);
                vision::writeNpy((out / "maps" / (item.id + ".npy")).string(), maps.data_ptr<float>(), maps.sizes().vec());
            }
            ids += item.id + "\n";
            ++result.written;
        } catch (const UnknownMapError &) {
            throw; // the map names no map of this method: every image would fail
        } catch (const std::exception &e) {
            warn(std::string(e.what()) + " (skipped)");
            result.skipped.push_back(item.id);
        }
        if (callbacks.progress)
            callbacks.progress(++done, result.total, item.id);
    }
    vision::atomicWriteText(out / "ImageSets" / "Segmentation" / (o.split + ".txt"), ids);
    vision::writeLabelMapFile((out / "labelmap.txt").string(), model.header.labelMap);
    nlohmann::json manifest = {{"method", model.header.method},
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
    vision::atomicWriteText(out / "manifest.json", manifest.dump(2) + "\n");
    return result;
}

} // namespace wsss::training
