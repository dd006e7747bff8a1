#pragma once
// Scores a model's pseudo-masks on a split with ground truth: mIoU of the method's default
// rule, and, for methods that threshold background, the background-threshold sweep. The result
// goes into the checkpoint's metrics, so the studio starts at the best threshold.
#include "training/checkpoint/checkpoint.h"
#include "vision/io/voc_reader.h"
#include "vision/labels/pseudo_label_rule.h"
#include "vision/metrics/confusion_matrix.h"
#include "vision/metrics/refined_sweep.h"

#include <nlohmann/json.hpp>

#include <functional>

namespace wsss::training {

// Scores one image that has a mask: its pseudo-mask under bgThreshold is added to `matrix`, and
// its maps to `sweep` when given, and the classifier's scores (per foreground class, sigmoid) to
// `classScores` when given. Throws wsss::Error naming the file when the image or mask cannot be
// read or their sizes differ. Shared by validation and the studio's evaluation.
void scoreImage(LoadedModel &model, const vision::DatasetItem &item, const torch::Device &device, float bgThreshold,
                vision::ConfusionMatrix &matrix, vision::ThresholdSweep *sweep,
                std::vector<float> *classScores = nullptr);

// The same under a rule with refinements (PAR, the CRF): `matrix` gets the mask `wsss infer`
// writes under `rule`, `sweep` (when given, for a method that thresholds background) the image's
// refined masks at each of its thresholds.
void scoreImageRefined(LoadedModel &model, const vision::DatasetItem &item, const torch::Device &device,
                       const vision::PseudoLabelRule &rule, vision::ConfusionMatrix &matrix,
                       vision::RefinedThresholdSweep *sweep, std::vector<float> *classScores = nullptr);

// {"val_miou", "val_fpr", "val_fnr", "val_images"} and, where the method thresholds background,
// {"best_bg_threshold", "val_miou_best"}. Images without a mask are not scored.
nlohmann::json validateModel(LoadedModel &model, const vision::VocDataset &dataset, const torch::Device &device,
                             float bgThreshold = vision::kDefaultBgThreshold,
                             const std::function<void(const std::string &)> &warn = {});

} // namespace wsss::training
