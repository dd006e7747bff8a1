#include "training/cli/verbs.h"
#include "vision/core/error.h"
#include "vision/io/atomic_write.h"
#include "vision/io/image_io.h"
#include "vision/io/labelmap_file.h"
#include "vision/io/npy.h"
#include "vision/io/palette_png.h"
#include "vision/io/voc_reader.h"
#include "vision/labels/pseudo_label_rule.h"
#include "vision/metrics/confusion_matrix.h"
#include "vision/metrics/pointing.h"
#include "vision/metrics/refined_sweep.h"

#include <CLI/CLI.hpp>
#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <vector>

namespace wsss::training {

namespace fs = std::filesystem;

namespace {

struct EvalOptions {
    std::string pred, data, split = "val";
    bool json = false;
    bool sweep = false;
    // The sweep of refined masks: PAR and/or the CRF on the saved maps, as `infer --par --crf`.
    bool par = false, crf = false;
    std::string crfPreset = "psa";
    int parIterations = 10;
    double sweepStep = 0; // 0: 0.01, or 0.05 with the CRF (a CRF per threshold and image)
    std::string perImage; // CSV of each image's scores, worst first ("" = none)
};

struct ImageScore {
    std::string id;
    vision::SegmentationScores scores;
};

// One row per scored image, the lowest mIoU first (the masks to look at first in the studio).
// Written whole or not at all.
void writePerImage(const std::string &path, std::vector<ImageScore> rows)
{
    std::stable_sort(rows.begin(), rows.end(),
                     [](const ImageScore &a, const ImageScore &b) { return a.scores.miou < b.scores.miou; });
    std::string csv = "id,miou,fpr,fnr,pixel_accuracy\n";
    char line[160];
    for (const auto &r : rows) {
        std::snprintf(line, sizeof line, ",%.6f,%.6f,%.6f,%.6f\n", r.scores.miou, r.scores.meanFpr, r.scores.meanFnr,
                      r.scores.pixelAccuracy);
        csv += r.id + line;
    }
    try {
        vision::atomicWriteText(path, csv);
    } catch (const std::exception &e) {
        throw Error("eval: --per-image: " + std::string(e.what()));
    }
}

nlohmann::json number(double v)
{
    return std::isnan(v) ? nlohmann::json(nullptr) : nlohmann::json(v);
}

nlohmann::json scoresJson(const vision::SegmentationScores &s, const vision::LabelMap &labels)
{
    nlohmann::json perClass = nlohmann::json::object(), fpr = nlohmann::json::object(), fnr = nlohmann::json::object();
    for (int c = 0; c < labels.size(); ++c) {
        perClass[labels.classes[c].name] = number(s.iou[c]);
        fpr[labels.classes[c].name] = number(s.fpr[c]);
        fnr[labels.classes[c].name] = number(s.fnr[c]);
    }
    return {{"miou", s.miou},         {"per_class", perClass},       {"fpr", s.meanFpr},
            {"fnr", s.meanFnr},       {"per_class_fpr", fpr},        {"per_class_fnr", fnr},
            {"pixel_accuracy", s.pixelAccuracy}, {"coverage", s.coverage}};
}

void runEval(const EvalOptions &o)
{
    if (!fs::is_directory(o.pred))
        throw Error("eval: --pred \"" + o.pred + "\" " + (fs::exists(o.pred) ? "is a file, not a folder" : "does not exist") +
                    " (a folder of label PNGs, or the --out of `wsss infer`)");
    auto dataset = vision::loadVocDataset(o.data, o.split);
    const int n = dataset.labelMap.size();
    // Predictions from `wsss infer` name their classes; another list would score class k against another k.
    const fs::path predLabels = fs::path(o.pred) / "labelmap.txt";
    if (fs::exists(predLabels) && vision::readLabelMapFile(predLabels.string()).names() != dataset.labelMap.names())
        throw Error("eval: the classes of \"" + predLabels.string() + "\" are not those of \"" + o.data +
                    "\": the predictions come from a model of other classes");
    const fs::path predDir = fs::exists(fs::path(o.pred) / "SegmentationClass") ? fs::path(o.pred) / "SegmentationClass"
                                                                                 : fs::path(o.pred);
    vision::ConfusionMatrix cm(n);
    vision::ThresholdSweep sweep(n);
    const bool refinedSweep = o.par || o.crf;
    if (refinedSweep && !o.sweep)
        throw Error("eval: --par and --crf refine the saved maps of --sweep: add --sweep");
    vision::PseudoLabelRule refinement;
    refinement.parIterations = o.par ? o.parIterations : 0;
    refinement.crf = o.crf;
    refinement.crfPreset = o.crfPreset;
    const double step = o.sweepStep > 0 ? o.sweepStep : vision::RefinedThresholdSweep::defaultStep(refinement);
    std::unique_ptr<vision::RefinedThresholdSweep> refined;
    if (refinedSweep)
        refined = std::make_unique<vision::RefinedThresholdSweep>(n, refinement, step);
    vision::PointingGame pointing;
    int scored = 0, sweptImages = 0;
    std::vector<ImageScore> perImage;
    nlohmann::json missing = nlohmann::json::array();
    for (const auto &item : dataset.items) {
        if (item.maskPath.empty()) {
            missing.push_back(item.id);
            continue;
        }
        try {
            const cv::Mat gt = vision::readLabelPng(item.maskPath);
            const fs::path predPath = predDir / (item.id + ".png");
            if (!fs::exists(predPath))
                throw Error("prediction \"" + predPath.string() + "\" is missing");
            const cv::Mat pred = vision::readLabelPng(predPath.string());
            if (pred.size() != gt.size())
                throw Error("prediction \"" + predPath.string() + "\" is " + std::to_string(pred.cols) + "x" +
                            std::to_string(pred.rows) + ", ground truth " + std::to_string(gt.cols) + "x" +
                            std::to_string(gt.rows));
            // Counted once per image, then merged: --per-image reads the image's own counts.
            vision::ConfusionMatrix own(n);
            own.add(gt.data, pred.data, gt.total());
            cm.merge(own);
            ++scored;
            if (!o.perImage.empty())
                perImage.push_back({item.id, own.scores()});
            if (o.sweep) {
                // Maps saved by `wsss infer --save-maps`: all K classes; the image's labels pick.
                auto maps = vision::readNpy((fs::path(o.pred) / "maps" / (item.id + ".npy")).string());
                if (maps.shape.size() != 3 || maps.shape[1] != gt.rows || maps.shape[2] != gt.cols)
                    throw Error("maps of \"" + item.id + "\" do not match the image size");
                if (refined) {
                    // The image the maps were made from, as `wsss infer` reads it (maps are at its size).
                    const cv::Mat rgb = vision::readImageRgb(item.imagePath);
                    if (rgb.rows != gt.rows || rgb.cols != gt.cols)
                        throw Error("image \"" + item.imagePath + "\" is not the size of its ground truth");
                    const cv::Mat continuous = rgb.isContinuous() ? rgb : rgb.clone();
                    refined->addImage(gt.data, torch::from_blob(maps.data.data(), {maps.shape[0], maps.shape[1], maps.shape[2]}, torch::kFloat),
                                      torch::from_blob(continuous.data, {rgb.rows, rgb.cols, 3}, torch::kByte), item.labels);
                } else {
                    sweep.addMaps(gt.data, maps.data.data(), static_cast<int>(maps.shape[0]), item.labels, gt.total());
                }
                pointing.add(gt.data, maps.data.data(), static_cast<int>(maps.shape[0]), gt.total());
                ++sweptImages;
            }
        } catch (const std::exception &e) {
            std::fprintf(stderr, "warning: %s (skipped)\n", e.what());
            missing.push_back(item.id);
        }
    }
    if (scored == 0)
        throw Error("eval: no image of \"" + o.data + "\" split \"" + o.split + "\" could be scored against \"" + o.pred + "\"");
    if (o.sweep && sweptImages == 0)
        throw Error("eval: --sweep: no image's maps could be read from \"" + (fs::path(o.pred) / "maps").string() +
                    "\" (`wsss infer --save-maps` writes them)");
    if (!o.perImage.empty())
        writePerImage(o.perImage, std::move(perImage));
    auto result = scoresJson(cm.scores(), dataset.labelMap);
    result["images"] = scored;
    result["skipped"] = missing;
    result["split"] = o.split;
    result["averaging"] = "classes present in the ground truth";
    if (o.sweep && sweptImages > 0) {
        const auto mious = refined ? refined->mious() : sweep.mious();
        const int best = vision::ThresholdSweep::bestIndex(mious);
        // Each grid point rounded as `--bg-threshold` takes it: the float printed back.
        std::vector<double> thresholds;
        for (std::size_t i = 0; i < mious.size(); ++i)
            thresholds.push_back(std::round((refined ? static_cast<double>(refined->thresholds()[i])
                                                     : sweep.threshold(static_cast<int>(i))) * 1e6) / 1e6);
        result["best_bg_threshold"] = thresholds[static_cast<std::size_t>(best)];
        result["best_miou"] = mious[best];
        result["sweep"] = mious;
        result["sweep_thresholds"] = thresholds;
        if (refined)
            result["sweep_refinement"] = {{"par_iterations", refinement.parIterations},
                                          {"crf", refinement.crf},
                                          {"crf_preset", refinement.crfPreset}};
        result["pointing"] = {{"maps", pointing.maps()},
                              {"on_item", number(pointing.share(pointing.onItem))},
                              {"on_other_item", number(pointing.share(pointing.onOtherItem))},
                              {"on_background", number(pointing.share(pointing.onBackground))},
                              {"on_ignored", number(pointing.share(pointing.onIgnored))}};
    }
    if (o.json) {
        std::cout << result.dump() << std::endl;
        return;
    }
    std::printf("mIoU %.2f%%  FPR %.3f  FNR %.3f  (%d images, split %s)\n", 100 * cm.scores().miou,
                cm.scores().meanFpr, cm.scores().meanFnr, scored, o.split.c_str());
    const auto s = cm.scores();
    for (int c = 0; c < n; ++c)
        if (!std::isnan(s.iou[c]))
            std::printf("  %-16s %6.2f%%\n", dataset.labelMap.classes[c].name.c_str(), 100 * s.iou[c]);
    if (result.contains("best_bg_threshold"))
        std::printf("best background threshold%s %.2f → mIoU %.2f%%\n",
                    refined ? (o.crf ? (o.par ? " (PAR + CRF)" : " (CRF)") : " (PAR)") : "",
                    result["best_bg_threshold"].get<double>(), 100 * result["best_miou"].get<double>());
    if (result.contains("pointing") && pointing.maps() > 0)
        std::printf("maps peaking on their own item %.1f%% (on another item %.1f%%, on the background %.1f%%; %lld maps)\n",
                    100 * pointing.share(pointing.onItem), 100 * pointing.share(pointing.onOtherItem),
                    100 * pointing.share(pointing.onBackground), static_cast<long long>(pointing.maps()));
}

} // namespace

void addEvalVerb(CLI::App &app)
{
    auto o = std::make_shared<EvalOptions>();
    auto *verb = app.add_subcommand("eval", "Score predicted masks against the ground truth (mIoU, FPR, FNR)");
    verb->add_option("--pred", o->pred, "Folder of predicted label PNGs (or an infer output folder)")->required();
    verb->add_option("--data", o->data, "VOC-layout dataset folder with SegmentationClass")->required();
    verb->add_option("--split", o->split, "Image list")->capture_default_str();
    verb->add_flag("--json", o->json, "Print one JSON object on stdout");
    verb->add_option("--per-image", o->perImage,
                     "Also write each image's mIoU, FPR, FNR and pixel accuracy to this CSV, the lowest mIoU first");
    verb->add_flag("--sweep", o->sweep, "Also sweep the background threshold over maps/<id>.npy (infer --save-maps), and score where "
                  "each ground-truth class's map peaks (on its item, another item or the background)");
    verb->add_flag("--par", o->par, "With --sweep: refine each image's saved maps with PAR first, as `infer --par` does");
    verb->add_option("--par-iters", o->parIterations, "PAR iterations")->capture_default_str()->check(CLI::Range(1, 1000));
    verb->add_flag("--crf", o->crf, "With --sweep: the dense CRF at each threshold, as `infer --crf` (a CRF per image and "
                  "threshold: the grid is 0.05 unless --sweep-step says otherwise)");
    verb->add_option("--crf-preset", o->crfPreset, kCrfPresetHelp)->capture_default_str();
    verb->add_option("--sweep-step", o->sweepStep, "Threshold grid of a refined sweep (default 0.01, 0.05 with --crf)")
        ->check(CLI::Range(0.001, 1.0));
    verb->callback([o] { runEval(*o); });
}

} // namespace wsss::training
