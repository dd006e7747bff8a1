#include "training/loop/validation.h"

#include "training/methods/inference.h"
#include "vision/core/error.h"
#include "vision/io/image_io.h"
#include "vision/io/palette_png.h"
#include "vision/metrics/confusion_matrix.h"

#include <torch/torch.h>

namespace wsss::training {

void scoreImage(LoadedModel &model, const vision::DatasetItem &item, const torch::Device &device, float bgThreshold,
                vision::ConfusionMatrix &matrix, vision::ThresholdSweep *sweep, std::vector<float> *classScores)
{
    const cv::Mat rgb = vision::readImageRgb(item.imagePath);
    const cv::Mat gt = vision::readLabelPng(item.maskPath);
    auto output = inferImage(model, rgb, false, device, item.labels);
    const cv::Mat pred = pseudoMask(model, output, item.labels, bgThreshold);
    if (pred.size() != gt.size())
        throw Error("mask \"" + item.maskPath + "\" is " + std::to_string(gt.cols) + "x" + std::to_string(gt.rows) +
                    ", the image " + std::to_string(pred.cols) + "x" + std::to_string(pred.rows));
    matrix.add(gt.data, pred.data, gt.total());
    if (sweep) {
        const auto &maps = output.maps.at(model.method->primaryMap());
        sweep->addMaps(gt.data, maps.data_ptr<float>(), static_cast<int>(maps.size(0)), item.labels, gt.total());
    }
    if (classScores && output.scores.defined()) {
        const auto scores = output.scores.contiguous();
        classScores->assign(scores.data_ptr<float>(), scores.data_ptr<float>() + scores.numel());
    }
}

void scoreImageRefined(LoadedModel &model, const vision::DatasetItem &item, const torch::Device &device,
                       const vision::PseudoLabelRule &rule, vision::ConfusionMatrix &matrix,
                       vision::RefinedThresholdSweep *sweep, std::vector<float> *classScores)
{
    const cv::Mat rgb = vision::readImageRgb(item.imagePath);
    const cv::Mat gt = vision::readLabelPng(item.maskPath);
    auto output = inferImage(model, rgb, false, device, item.labels);
    const cv::Mat pred = pseudoMask(model, output, item.labels, rule, rgb, "");
    if (pred.size() != gt.size())
        throw Error("mask \"" + item.maskPath + "\" is " + std::to_string(gt.cols) + "x" + std::to_string(gt.rows) +
                    ", the image " + std::to_string(pred.cols) + "x" + std::to_string(pred.rows));
    matrix.add(gt.data, pred.data, gt.total());
    if (sweep) {
        const cv::Mat continuous = rgb.isContinuous() ? rgb : rgb.clone();
        sweep->addImage(gt.data, output.maps.at(model.method->primaryMap()).to(torch::kCPU, torch::kFloat),
                        torch::from_blob(continuous.data, {rgb.rows, rgb.cols, 3}, torch::kByte), item.labels);
    }
    if (classScores && output.scores.defined()) {
        const auto scores = output.scores.contiguous();
        classScores->assign(scores.data_ptr<float>(), scores.data_ptr<float>() + scores.numel());
    }
}

nlohmann::json validateModel(LoadedModel &model, const vision::VocDataset &dataset, const torch::Device &device,
                             float bgThreshold, const std::function<void(const std::string &)> &warn)
{
    const int n = model.header.labelMap.size();
    vision::ConfusionMatrix cm(n);
    vision::ThresholdSweep sweep(n);
    const bool thresholds = !model.method->predictsBackground();
    int images = 0;
    for (const auto &item : dataset.items) {
        if (item.maskPath.empty())
            continue;
        try {
            scoreImage(model, item, device, bgThreshold, cm, thresholds ? &sweep : nullptr);
            ++images;
        } catch (const std::exception &e) {
            if (warn)
                warn(std::string(e.what()) + " (not scored)");
        }
    }
    const auto s = cm.scores();
    nlohmann::json out = {{"val_miou", s.miou}, {"val_fpr", s.meanFpr}, {"val_fnr", s.meanFnr}, {"val_images", images}};
    if (thresholds && images > 0) {
        const auto mious = sweep.mious();
        const int best = vision::ThresholdSweep::bestIndex(mious);
        out["best_bg_threshold"] = sweep.threshold(best);
        out["val_miou_best"] = mious[best];
    }
    return out;
}

} // namespace wsss::training
