#include "vision/refine/affinity_labels.h"

#include "vision/core/error.h"
#include "vision/refine/random_walk.h"

#include <ATen/ATen.h>
#include <torch/nn/functional/upsampling.h>

namespace wsss::vision {

namespace F = torch::nn::functional;

torch::Tensor labelTokens(const torch::Tensor &labels, std::int64_t gridH, std::int64_t gridW)
{
    if (labels.dim() != 3)
        throw Error("affinity labels: label map must be [B, H, W], got " + c10::str(labels.sizes()));
    if (gridH <= 0 || gridW <= 0 || gridH > labels.size(1) || gridW > labels.size(2))
        throw Error("affinity labels: grid " + std::to_string(gridH) + "×" + std::to_string(gridW) +
                    " does not fit a " + std::to_string(labels.size(1)) + "×" + std::to_string(labels.size(2)) +
                    " label map");
    // kNearest is PyTorch's legacy nearest: floor(i·scale), the top-left pixel of each cell.
    const auto small = F::interpolate(labels.to(torch::kFloat).unsqueeze(1),
                                      F::InterpolateFuncOptions()
                                          .size(std::vector<std::int64_t>{gridH, gridW})
                                          .mode(torch::kNearest));
    return small.flatten(1).to(torch::kLong);
}

torch::Tensor affinityLabels(const torch::Tensor &labels, std::int64_t gridH, std::int64_t gridW, std::int64_t radius)
{
    const auto tokens = labelTokens(labels, gridH, gridW); // [B, N]
    const auto same = tokens.unsqueeze(2) == tokens.unsqueeze(1);
    const auto ignored = tokens == kAffinityIgnore;
    auto out = same.to(torch::kByte);
    const auto outside = radiusMask(gridH, gridW, radius, labels.device()).eq(0).unsqueeze(0);
    const auto drop = ignored.unsqueeze(2).logical_or(ignored.unsqueeze(1)).logical_or(outside);
    return out.masked_fill(drop, static_cast<std::int64_t>(kAffinityIgnore));
}

} // namespace wsss::vision
