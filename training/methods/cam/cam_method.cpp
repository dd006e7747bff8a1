#include "training/methods/cam/cam_method.h"

#include "training/methods/config_json.h"
#include "vision/backbones/backbone_registry.h"
#include "vision/maps/multi_scale.h"

#include <torch/torch.h>

namespace wsss::training {

nlohmann::json CamConfig::toJson() const
{
    return {{"pooling", pooling},
            {"topk_fraction", topkFraction},
            {"flip_inference", flipInference},
            {"inference_scales", inferenceScales}};
}

CamConfig CamConfig::fromJson(const nlohmann::json &json)
{
    rejectUnknownKeys(json, "cam", {"pooling", "topk_fraction", "flip_inference", "inference_scales"});
    CamConfig c;
    readKey(json, "pooling", c.pooling);
    readKey(json, "topk_fraction", c.topkFraction);
    readKey(json, "flip_inference", c.flipInference);
    readKey(json, "inference_scales", c.inferenceScales);
    vision::poolingFromName(c.pooling); // validates
    if (!(c.topkFraction > 0 && c.topkFraction <= 1))
        throw Error("cam: topk_fraction " + std::to_string(c.topkFraction) + " is outside (0, 1]");
    if (c.inferenceScales.empty())
        throw Error("cam: inference_scales is empty (give [1] for one scale)");
    for (double scale : c.inferenceScales)
        if (!(scale > 0 && scale <= 4))
            throw Error("cam: inference_scales: " + nlohmann::json(scale).dump() + " is outside (0, 4]");
    return c;
}

torch::Tensor multilabelSoftMarginLoss(const torch::Tensor &logits, const torch::Tensor &labels)
{
    return torch::binary_cross_entropy_with_logits(logits, labels);
}

CamMethod::CamMethod(const MethodSpec &spec)
    : m_config(CamConfig::fromJson(spec.config)), m_pooling(vision::poolingFromName(m_config.pooling))
{
    setBackbone(vision::makeBackbone(spec.backbone));
    const int dim = m_backbone->info().channels;
    m_classifier = register_module(
        "classifier", torch::nn::Conv2d(torch::nn::Conv2dOptions(dim, spec.numClasses, 1).bias(false)));
}

torch::Tensor CamMethod::logits(const torch::Tensor &features)
{
    // Classify every patch, then pool each class's map (Oquab et al.'s global max pooling of
    // score maps). For average pooling this equals pooling first; for max pooling it sends the
    // gradient to each class's best patch instead of mixing every channel's own maximum, which
    // with LayerNorm'd ViT tokens leaves the classifier at the label prior.
    return vision::globalPool(vision::classActivationMaps(features, m_classifier->weight), m_pooling,
                              m_config.topkFraction);
}

StepResult CamMethod::trainStep(const Batch &batch)
{
    auto out = m_backbone->forward(batch.images);
    StepResult r;
    r.losses["cls"] = multilabelSoftMarginLoss(logits(out.patchFeatures()), batch.labels);
    return r;
}

MethodOutput CamMethod::infer(const torch::Tensor &image, bool captureAttention, const torch::Tensor &)
{
    const auto H = image.size(2), W = image.size(3);
    auto out = m_backbone->forward(image, inspectionCapture(captureAttention, m_backbone->info(), image.size(2), image.size(3)));
    auto features = out.patchFeatures();
    MethodOutput result;
    result.gridHeight = out.gridHeight;
    result.gridWidth = out.gridWidth;
    result.scores = torch::sigmoid(logits(features))[0];
    // No ReLU before the min-max: it would empty every map whose scores are all negative, as
    // they are near the label prior.
    // The maps of one input (and its mirror) at the image's size.
    const auto mapsOf = [&](const torch::Tensor &input, const torch::Tensor &inputFeatures) {
        auto cams = vision::resizeMaps(vision::classActivationMaps(inputFeatures, m_classifier->weight), H, W);
        if (m_config.flipInference) {
            auto flipped = m_backbone->forward(input.flip({3}));
            auto flippedCams = vision::classActivationMaps(flipped.patchFeatures(), m_classifier->weight);
            cams = cams + vision::resizeMaps(flippedCams, H, W).flip({3});
        }
        return cams;
    };
    torch::Tensor cams;
    const int multiple = m_backbone->info().inputMultiple;
    for (double scale : m_config.inferenceScales) {
        const auto h = vision::scaledSide(H, scale, multiple), w = vision::scaledSide(W, scale, multiple);
        // The unscaled pass is the one whose attention and scores the inspection shows.
        const auto scaled = h == H && w == W ? mapsOf(image, features) : [&] {
            const auto input = torch::nn::functional::interpolate(
                image, torch::nn::functional::InterpolateFuncOptions().size(std::vector<std::int64_t>{h, w})
                           .mode(torch::kBilinear).align_corners(false));
            return mapsOf(input, m_backbone->forward(input).patchFeatures());
        }();
        cams = cams.defined() ? cams + scaled : scaled;
    }
    // Flip passes and scales summed, then min-max per class (ACR's seeds, METHODS.md §8.4).
    result.maps["cam"] = vision::normalizeMapsMinMax(cams)[0];
    takeAttention(out, m_backbone->info(), result);
    return result;
}

} // namespace wsss::training
