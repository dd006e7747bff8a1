#include "vision/labels/refined_labels.h"

#include "vision/core/error.h"

#include <torch/nn/functional/upsampling.h>

#include <limits>

namespace wsss::vision {

namespace F = torch::nn::functional;

namespace {

torch::Tensor resize(const torch::Tensor &x, std::int64_t h, std::int64_t w)
{
    if (x.size(2) == h && x.size(3) == w)
        return x;
    return F::interpolate(x, F::InterpolateFuncOptions()
                                 .size(std::vector<std::int64_t>{h, w})
                                 .mode(torch::kBilinear)
                                 .align_corners(false));
}

// [B, 1 + C] validity: background always, classes where labelled.
torch::Tensor validChannels(const torch::Tensor &classLabels)
{
    auto bg = torch::ones({classLabels.size(0), 1}, classLabels.options());
    return torch::cat({bg, classLabels}, 1) > 0.5;
}

// PAR at 1/downscale, back to H × W, arg-max over the valid channels.
torch::Tensor parArgmax(const torch::Tensor &halfImage, const torch::Tensor &maps, const torch::Tensor &valid,
                        std::int64_t H, std::int64_t W, const RefinedLabelConfig &config)
{
    auto refined = resize(refineWithPar(halfImage, maps, config.par), H, W);
    const auto invalid = valid.logical_not().unsqueeze(-1).unsqueeze(-1).expand_as(refined);
    return refined.masked_fill(invalid, -std::numeric_limits<float>::infinity()).argmax(1);
}

} // namespace

void RefinedLabelConfig::validate() const
{
    if (!(low >= 0 && low <= high && high <= 1))
        throw Error("refined labels: need 0 <= low (" + std::to_string(low) + ") <= high (" + std::to_string(high) +
                    ") <= 1");
    if (downscale < 1)
        throw Error("refined labels: downscale " + std::to_string(downscale) + " must be at least 1");
    par.validate();
}

torch::Tensor combineHighLow(const torch::Tensor &labelsHigh, const torch::Tensor &labelsLow)
{
    auto out = labelsHigh.clone();
    out.masked_fill_(labelsHigh == 0, 255);
    out.masked_fill_((labelsHigh + labelsLow) == 0, 0);
    return out;
}

torch::Tensor refineCamsWithBackground(const torch::Tensor &image, const torch::Tensor &cams,
                                       const torch::Tensor &classLabels, const RefinedLabelConfig &config)
{
    config.validate();
    const auto B = cams.size(0), H = cams.size(2), W = cams.size(3);
    const auto h = H / config.downscale, w = W / config.downscale;
    const auto halfImage = resize(image.to(torch::kFloat), h, w);
    const auto valid = validChannels(classLabels);
    const auto invalid = valid.logical_not().unsqueeze(-1).unsqueeze(-1);
    auto labelsAt = [&](double bgScore) {
        auto withBg = torch::cat({torch::full({B, 1, H, W}, bgScore, cams.options()), cams}, 1);
        auto logits = resize(withBg.to(torch::kFloat), h, w);
        // Softmax over background + present classes only; absent classes get exactly 0.
        auto probs = logits.masked_fill(invalid.expand_as(logits), -std::numeric_limits<float>::infinity()).softmax(1);
        return parArgmax(halfImage, probs, valid, H, W, config);
    };
    return combineHighLow(labelsAt(config.high), labelsAt(config.low));
}

torch::Tensor refinePropagatedMaps(const torch::Tensor &image, const torch::Tensor &mapsHigh,
                                   const torch::Tensor &mapsLow, const torch::Tensor &classLabels,
                                   const RefinedLabelConfig &config)
{
    config.validate();
    const auto H = mapsHigh.size(2), W = mapsHigh.size(3);
    const auto halfImage = resize(image.to(torch::kFloat), H / config.downscale, W / config.downscale);
    const auto valid = validChannels(classLabels);
    // PAR resizes the full-size maps down to the half image itself (align_corners=true).
    auto labelsOf = [&](const torch::Tensor &maps) {
        return parArgmax(halfImage, maps.to(torch::kFloat), valid, H, W, config);
    };
    return combineHighLow(labelsOf(mapsHigh), labelsOf(mapsLow));
}

torch::Tensor denormalizeTo8Bit(const torch::Tensor &normalized, const std::array<float, 3> &mean,
                                const std::array<float, 3> &std)
{
    auto opts = normalized.options().dtype(torch::kFloat);
    auto m = torch::tensor({mean[0], mean[1], mean[2]}, opts).view({1, 3, 1, 1});
    auto s = torch::tensor({std[0], std[1], std[2]}, opts).view({1, 3, 1, 1});
    auto pixels = ((normalized.to(torch::kFloat) * s + m) * 255.0).clamp(0, 255).floor();
    return pixels / 255.0;
}

} // namespace wsss::vision
