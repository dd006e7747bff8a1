#include "vision/maps/pcm_maps.h"

#include "vision/core/error.h"

#include <torch/nn/functional/upsampling.h>

#include <string>

namespace wsss::vision {

namespace F = torch::nn::functional;

torch::Tensor patchTokensToGrid(const torch::Tensor &tokens, std::int64_t height, std::int64_t width)
{
    if (tokens.dim() != 3 || height < 1 || width < 1 || tokens.size(1) != height * width)
        throw Error("patch tokens " + c10::str(tokens.sizes()) + " do not fill a " + std::to_string(height) + "×" +
                    std::to_string(width) + " grid (expected [B, " + std::to_string(height * width) + ", C])");
    return tokens.transpose(1, 2).reshape({tokens.size(0), tokens.size(2), height, width});
}

torch::Tensor patchClassMaps(const torch::Tensor &logits)
{
    if (logits.dim() != 4 || logits.size(1) < 2)
        throw Error("patch-class maps: logits " + c10::str(logits.sizes()) +
                    ", expected [B, C, h, w] with C ≥ 2 (background + classes)");
    return torch::softmax(logits.to(torch::kFloat), 1);
}

torch::Tensor withBackgroundBit(const torch::Tensor &foregroundLabels)
{
    if (foregroundLabels.dim() != 2)
        throw Error("patch-class maps: labels " + c10::str(foregroundLabels.sizes()) + ", expected [B, K]");
    const auto labels = foregroundLabels.to(torch::kFloat);
    return torch::cat({torch::ones({labels.size(0), 1}, labels.options()), labels}, 1);
}

torch::Tensor labelMaskedPatchClassMaps(const torch::Tensor &maps, const torch::Tensor &labels)
{
    if (maps.dim() != 4)
        throw Error("patch-class maps: maps " + c10::str(maps.sizes()) + ", expected [B, C, h, w]");
    if (labels.dim() != 2 || labels.size(0) != maps.size(0) || labels.size(1) != maps.size(1))
        throw Error("patch-class maps: labels " + c10::str(labels.sizes()) + " do not match maps " +
                    c10::str(maps.sizes()) + " (expected [B, C], background bit included)");
    const auto t = labels.to(maps.device()).to(torch::kFloat);
    if (!t.eq(0).logical_or(t.eq(1)).all().item<bool>())
        throw Error("patch-class maps: labels must be 0 or 1, got " + c10::str(labels));
    const auto z1 = maps.to(torch::kFloat) * t.unsqueeze(-1).unsqueeze(-1);
    // 0/0 → 0: where the divisor is 0 the numerator is 0 too, so dividing by 1 there is exact.
    const auto peak = std::get<0>(z1.flatten(2).max(2)).unsqueeze(-1).unsqueeze(-1);
    const auto z2 = z1 / torch::where(peak > 0, peak, torch::ones_like(peak));
    const auto total = z2.sum(1, true);
    return z2 / torch::where(total > 0, total, torch::ones_like(total));
}

torch::Tensor patchClassPseudoMask(const torch::Tensor &maps, std::int64_t height, std::int64_t width)
{
    if (maps.dim() != 4 || height < 1 || width < 1)
        throw Error("patch-class pseudo-mask: maps " + c10::str(maps.sizes()) + " to " + std::to_string(height) +
                    "×" + std::to_string(width) + ", expected [B, C, h, w] and a positive size");
    const auto sized = F::interpolate(maps.to(torch::kFloat), F::InterpolateFuncOptions()
                                                                   .size(std::vector<std::int64_t>{height, width})
                                                                   .mode(torch::kBilinear)
                                                                   .align_corners(true));
    return sized.argmax(1);
}

} // namespace wsss::vision
