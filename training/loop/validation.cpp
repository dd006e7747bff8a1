#include "training/loop/validation.h"

#include "training/methods/inference.h"
#include "vision/core/error.h"
#include "vision/io/image_io.h"
#include "vision/io/palette_png.h"
#include "vision/labels/pseudo_label_maps.h"
#include "vision/metrics/confusion_matrix.h"
#include "vision/metrics/refined_sweep.h"

#include <torch/torch.h>

namespace wsss::training {

namespace {

// An image with a mask, read and inferred: what both scorers start from.
struct InferredItem {
    cv::Mat rgb, gt;
    MethodOutput output;
};

InferredItem inferItem(LoadedModel &model, const vision::DatasetItem &item, const torch::Device &device)
{
    InferredItem in{vision::readImageRgb(item.imagePath), vision::readLabelPng(item.maskPath), {}};
    in.output = inferImage(model, in.rgb, false, device, item.labels, {model.method->primaryMap()});
    return in;
}

// The image's pseudo-mask into `matrix` (it must be the mask's size), the classifier's scores into
// `classScores` when given.
void addScores(const InferredItem &in, const cv::Mat &pred, const vision::DatasetItem &item,
               vision::ConfusionMatrix &matrix, std::vector<float> *classScores)
{
    if (pred.size() != in.gt.size())
        throw Error("mask \"" + item.maskPath + "\" is " + std::to_string(in.gt.cols) + "x" + std::to_string(in.gt.rows) +
                    ", the image " + std::to_string(pred.cols) + "x" + std::to_string(pred.rows));
    matrix.add(in.gt.data, pred.data, in.gt.total());
    if (classScores && in.output.scores.defined()) {
        const auto scores = in.output.scores.contiguous();
        classScores->assign(scores.data_ptr<float>(), scores.data_ptr<float>() + scores.numel());
    }
}

} // namespace

void scoreImage(LoadedModel &model, const vision::DatasetItem &item, const torch::Device &device, float bgThreshold,
                vision::ConfusionMatrix &matrix, vision::ThresholdSweep *sweep, std::vector<float> *classScores)
{
    const auto in = inferItem(model, item, device);
    addScores(in, pseudoMask(model, in.output, item.labels, bgThreshold), item, matrix, classScores);
    if (sweep) {
        const auto &maps = in.output.maps.at(model.method->primaryMap());
        sweep->addMaps(in.gt.data, maps.data_ptr<float>(), static_cast<int>(maps.size(0)), item.labels, in.gt.total());
    }
}

void scoreImageRefined(LoadedModel &model, const vision::DatasetItem &item, const torch::Device &device,
                       const vision::PseudoLabelRule &rule, vision::ConfusionMatrix &matrix,
                       vision::RefinedThresholdSweep *sweep, std::vector<float> *classScores)
{
    const auto in = inferItem(model, item, device);
    // PAR once: the sweep (a method that thresholds background) takes the planes the mask at the
    // rule's threshold was decided over.
    vision::RefinedPlanes planes;
    addScores(in, pseudoMask(model, in.output, item.labels, rule, in.rgb, "", sweep ? &planes : nullptr), item,
              matrix, classScores);
    if (sweep) {
        const cv::Mat continuous = in.rgb.isContinuous() ? in.rgb : in.rgb.clone();
        sweep->addPlanes(in.gt.data, planes,
                         torch::from_blob(continuous.data, {in.rgb.rows, in.rgb.cols, 3}, torch::kByte));
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
