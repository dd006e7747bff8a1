#include "training/checkpoint/checkpoint.h"
#include "training/cli/progress_bar.h"
#include "training/cli/verbs.h"
#include "training/methods/inference.h"
#include "vision/core/error.h"
#include "vision/io/atomic_write.h"
#include "vision/io/image_io.h"
#include "vision/io/labelmap_file.h"
#include "vision/io/npy.h"
#include "vision/io/palette_png.h"
#include "vision/io/voc_reader.h"
#include "vision/labels/pseudo_label_rule.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>
#include <torch/torch.h>

#include <filesystem>
#include <memory>

namespace wsss::training {

namespace fs = std::filesystem;

namespace {

struct InferOptions {
    std::string checkpoint, data, split = "val", out, device = "auto";
    float bgThreshold = -1; // < 0: the checkpoint's, else 0.45
    bool saveMaps = false;
    int size = 0; // 0: the checkpoint's input size
    bool half = false;
    bool par = false;       // PAR on the maps before the rule
    int parIterations = 10;
    bool crf = false;       // dense CRF after PAR, as `wsss refine --crf`
    std::string band;       // "LO,HI": β_l/β_h band with 255 = ignore
    std::string map;        // which of the method's maps ("" = its primary one)
};

void runInfer(const InferOptions &o)
{
    configureThreads();
    const auto device = resolveDevice(o.device);
    auto model = loadCheckpoint(o.checkpoint, device);
    if (o.half)
        useHalfPrecision(model, device);
    if (o.size > 0) {
        const int multiple = model.method->backboneInfo().sizeMultiple;
        if (o.size % multiple != 0)
            throw Error("infer: --size " + std::to_string(o.size) + " must be a multiple of " + std::to_string(multiple) +
                        " for " + model.header.backbone);
        model.header.inputSize = o.size; // the position embedding follows any grid
    }
    auto dataset = vision::loadVocDataset(o.data, o.split);
    for (const auto &w : dataset.warnings)
        std::fprintf(stderr, "warning: %s\n", w.c_str());

    const auto rule = pseudoLabelRuleFromFlags(
        o.bgThreshold >= 0 ? o.bgThreshold : model.header.metrics.value("best_bg_threshold", 0.45f), o.band, o.par,
        o.parIterations, o.crf);
    const auto palette = vision::paletteFor(model.header.labelMap);
    const fs::path out(o.out);
    fs::create_directories(out / "SegmentationClass");
    if (o.saveMaps)
        fs::create_directories(out / "maps");

    ProgressBar bar("infer", static_cast<std::int64_t>(dataset.items.size()));
    std::string ids;
    nlohmann::json skipped = nlohmann::json::array();
    std::int64_t done = 0, written = 0;
    for (const auto &item : dataset.items) {
        try {
            const cv::Mat rgb = vision::readImageRgb(item.imagePath);
            auto output = inferImage(model, rgb, false, device, item.labels);
            const cv::Mat mask = pseudoMask(model, output, item.labels, rule, rgb, o.map);
            vision::writeLabelPng((out / "SegmentationClass" / (item.id + ".png")).string(), mask, palette);
            if (o.saveMaps) {
                const auto &maps = methodMap(model, output, o.map);
                vision::writeNpy((out / "maps" / (item.id + ".npy")).string(), maps.data_ptr<float>(), maps.sizes().vec());
            }
            ids += item.id + "\n";
            ++written;
        } catch (const UnknownMapError &) {
            throw; // --map names no map of this method: every image would fail
        } catch (const std::exception &e) {
            std::fprintf(stderr, "warning: %s (skipped)\n", e.what());
            skipped.push_back(item.id);
        }
        bar.update(++done);
    }
    vision::atomicWriteText(out / "ImageSets" / "Segmentation" / (o.split + ".txt"), ids);
    vision::writeLabelMapFile((out / "labelmap.txt").string(), model.header.labelMap);
    nlohmann::json manifest = {{"method", model.header.method},
                               {"backbone", model.header.backbone},
                               {"checkpoint", fs::absolute(o.checkpoint).string()},
                               {"checkpoint_step", model.header.step},
                               {"data", fs::absolute(o.data).string()},
                               {"split", o.split},
                               {"rule", rule.toJson()},
                               {"map", o.map.empty() ? model.method->primaryMap() : o.map},
                               {"images", written},
                               {"skipped", skipped},
                               {"maps_saved", o.saveMaps},
                               {"corrected", nlohmann::json::array()}};
    vision::atomicWriteText(out / "manifest.json", manifest.dump(2) + "\n");
    bar.finish("→ " + o.out);
}

} // namespace

void addInferVerb(CLI::App &app)
{
    auto o = std::make_shared<InferOptions>();
    auto *verb = app.add_subcommand("infer", "Write pseudo-masks (palette PNGs) for a dataset split");
    verb->add_option("--checkpoint", o->checkpoint, "checkpoint.wsss")->required();
    verb->add_option("--data", o->data, "VOC-layout dataset folder")->required();
    verb->add_option("--split", o->split, "Image list")->capture_default_str();
    verb->add_option("--out", o->out, "Output folder")->required();
    verb->add_option("--bg-threshold", o->bgThreshold, "Background score threshold (default: the checkpoint's, else 0.45)")
        ->check(CLI::Range(0.0f, 1.0f));
    verb->add_option("--size", o->size, "Side images are resized to (default: the checkpoint's training size)");
    verb->add_flag("--half", o->half, "Float16 inference (CUDA only)");
    verb->add_flag("--par", o->par, "Pixel-adaptive refinement (AFA) of the maps before the rule");
    verb->add_option("--par-iters", o->parIterations, "PAR iterations")->capture_default_str()->check(CLI::Range(1, 1000));
    verb->add_option("--band", o->band, "LO,HI: class above HI, background at or below LO, 255 (ignore) between");
    verb->add_option("--map", o->map, "Which of the method's maps the rule reads (default: its primary one; e.g. cam, aff, seg)");
    verb->add_flag("--crf", o->crf, kCrfFlagHelp);
    verb->add_flag("--save-maps", o->saveMaps, "Also write maps/<id>.npy (float32 [C,H,W], image size)");
    verb->add_option("--device", o->device, "auto | cpu | cuda[:N]")->capture_default_str();
    verb->callback([o] { runInfer(*o); });
}

} // namespace wsss::training
