#include "training/methods/supervised/supervised_method.h"

#include "training/methods/config_json.h"
#include "vision/backbones/backbone_registry.h"
#include "vision/core/labels.h"
#include "vision/maps/cam.h"

#include <torch/torch.h>

namespace wsss::training {

nlohmann::json SupervisedConfig::toJson() const
{
    return {{"head_channels", headChannels}, {"restrict_to_labels", restrictToLabels}};
}

SupervisedConfig SupervisedConfig::fromJson(const nlohmann::json &json)
{
    rejectUnknownKeys(json, "supervised", {"head_channels", "restrict_to_labels"});
    SupervisedConfig c;
    readKey(json, "head_channels", c.headChannels);
    readKey(json, "restrict_to_labels", c.restrictToLabels);
    if (c.headChannels <= 0)
        throw Error("supervised: head_channels must be positive");
    return c;
}

SupervisedMethod::SupervisedMethod(const MethodSpec &spec) : m_config(SupervisedConfig::fromJson(spec.config))
{
    setBackbone(vision::makeBackbone(spec.backbone));
    const int dim = m_backbone->info().channels;
    m_head = register_module("head", vision::SegHead(dim, m_config.headChannels, spec.numClasses + 1));
}

torch::Tensor SupervisedMethod::segment(const torch::Tensor &features, std::int64_t height, std::int64_t width)
{
    return vision::resizeMaps(m_head(features), height, width);
}

StepResult SupervisedMethod::trainStep(const Batch &batch)
{
    auto out = m_backbone->forward(batch.images);
    auto logits = segment(out.patchFeatures(), batch.images.size(2), batch.images.size(3));
    StepResult r;
    r.losses["seg"] = torch::nn::functional::cross_entropy(
        logits, batch.masks, torch::nn::functional::CrossEntropyFuncOptions().ignore_index(vision::kIgnoreLabel));
    return r;
}

MethodOutput SupervisedMethod::infer(const torch::Tensor &image, bool captureAttention, const torch::Tensor &labels)
{
    auto out = m_backbone->forward(image, inspectionCapture(captureAttention, m_backbone->info(), image.size(2), image.size(3)));
    auto probs = segment(out.patchFeatures(), image.size(2), image.size(3)).softmax(1)[0]; // [K+1, H, W]
    auto classes = probs.slice(0, 1);
    if (m_config.restrictToLabels && labels.defined())
        classes = classes * labels.to(classes.dtype()).view({-1, 1, 1});
    MethodOutput result;
    result.gridHeight = out.gridHeight;
    result.gridWidth = out.gridWidth;
    result.backgrounds["seg"] = probs[0];
    result.maps["seg"] = classes;
    result.scores = std::get<0>(result.maps["seg"].flatten(1).max(1));
    takeAttention(out, m_backbone->info(), result);
    return result;
}

} // namespace wsss::training
