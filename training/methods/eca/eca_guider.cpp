#include "training/methods/eca/eca_guider.h"

#include "training/checkpoint/checkpoint.h"
#include "vision/backbones/backbone_registry.h"
#include "vision/core/error.h"
#include "vision/maps/multi_scale.h"
#include "vision/weights/load_weights.h"
#include "vision/weights/safetensors.h"

#include <ATen/ATen.h>
#include <torch/nn/functional/upsampling.h>
#include <torch/utils.h>

#include <optional>

namespace wsss::training {

namespace F = torch::nn::functional;

namespace {

// The header of a project checkpoint, or nothing for plain weights (or a file load() reports).
std::optional<CheckpointHeader> checkpointHeader(const std::string &path)
{
    try {
        auto header = readCheckpointHeader(path);
        if (!header.method.empty())
            return header;
    } catch (const Error &) {
    }
    return std::nullopt;
}

} // namespace

bool isProjectCheckpoint(const std::string &path)
{
    return checkpointHeader(path).has_value();
}

GuiderImpl::GuiderImpl(const std::string &preset)
{
    const auto vit = std::dynamic_pointer_cast<vision::VisionTransformerImpl>(vision::makeBackbone(preset));
    if (!vit)
        throw Error("eca: the guider must be a ViT (keys and a class token); \"" + preset + "\" is not");
    m_vit = register_module("vit", vision::VisionTransformer(vit));
    for (auto &p : parameters())
        p.set_requires_grad(false);
    GuiderImpl::train(false);
}

void GuiderImpl::train(bool /*on*/)
{
    torch::nn::Module::train(false);
}

std::vector<std::string> GuiderImpl::load(const std::string &path)
{
    vision::requireSafetensorsFile(path, "eca guider");
    const auto header = checkpointHeader(path);
    if (!header) {
        auto notes = m_vit->loadWeights(path);
        for (auto &p : parameters())
            p.set_requires_grad(false);
        return notes;
    }
    // A run's checkpoint: its backbone, with the normalisation it was trained with.
    const auto file = vision::readSafetensors(path);
    vision::loadStateDict(*m_vit, file.tensors, path, "backbone.");
    if (header->normalization)
        m_vit->setNormalization(*header->normalization);
    for (auto &p : parameters())
        p.set_requires_grad(false);
    return {"the backbone of a " + header->method + " run (" + header->backbone + ", step " +
            std::to_string(header->step) + ")"};
}

GuiderImpl::Keys GuiderImpl::keysAt(const torch::Tensor &image, double scale)
{
    torch::NoGradGuard noGrad;
    const auto &config = m_vit->config();
    const auto info = m_vit->info();
    const auto h = vision::scaledSide(image.size(2), scale, info.inputMultiple);
    const auto w = vision::scaledSide(image.size(3), scale, info.inputMultiple);
    auto x = image.to(torch::kFloat);
    if (h != image.size(2) || w != image.size(3))
        x = F::interpolate(x, F::InterpolateFuncOptions()
                                  .size(std::vector<std::int64_t>{h, w})
                                  .mode(torch::kBilinear)
                                  .align_corners(false));
    const auto opts = x.options();
    const auto mean = torch::tensor(std::vector<float>(info.norm.mean.begin(), info.norm.mean.end()), opts).view({1, 3, 1, 1});
    const auto stdev = torch::tensor(std::vector<float>(info.norm.std.begin(), info.norm.std.end()), opts).view({1, 3, 1, 1});
    vision::CaptureRequest capture;
    capture.layers = {-1};
    capture.queries = true;
    capture.keys = true;
    const auto out = m_vit->forward((x - mean) / stdev, capture);
    if (out.keys.empty() || out.queries.empty())
        throw Error("eca guider: the ViT captured no keys of its last block");
    // [B, heads, T, d] → [B, T, heads·d]: the official concatenation of the heads.
    const auto concat = [](const torch::Tensor &t) { return t.permute({0, 2, 1, 3}).flatten(2); };
    const auto keys = concat(out.keys.back()), queries = concat(out.queries.back());
    const int prefix = config.prefixTokens;
    Keys k;
    k.keys = keys.slice(1, prefix).contiguous();
    k.clsQuery = queries.select(1, 0).contiguous();
    k.gridH = out.gridHeight;
    k.gridW = out.gridWidth;
    return k;
}

} // namespace wsss::training
