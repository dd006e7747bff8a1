#pragma once
// Class activation maps (Zhou et al. 2016) and the global poolings that train them.
#include <torch/types.h>

#include <string>

namespace wsss::vision {

enum class Pooling { Max, Average, TopK };

Pooling poolingFromName(const std::string &name); // "gmp" | "gap" | "topk"
std::string poolingName(Pooling pooling);

// features: [B, D, h, w] → [B, D] by global max, average, or the mean of the top-k fraction
// of locations per channel (topkFraction in (0, 1]).
torch::Tensor globalPool(const torch::Tensor &features, Pooling pooling, double topkFraction = 0.25);

// CAM of every class: M_c = Σ_d w_cd F_d. features [B, D, h, w], weights [C, D] (or a 1×1
// conv's [C, D, 1, 1]) → [B, C, h, w], not rectified.
torch::Tensor classActivationMaps(const torch::Tensor &features, const torch::Tensor &weights);

// ReLU, then per-(image, class) division by the maximum + eps (PSA/IRN normalisation):
// [B, C, h, w] → values in [0, 1].
torch::Tensor normalizeMaps(const torch::Tensor &maps, double eps = 1e-5);

// Per-(image, class) min-max scaling (M − min)/(max − min + eps) (ACR's and MCTformer's):
// keeps the maps' relative evidence even where every score is negative.
torch::Tensor normalizeMapsMinMax(const torch::Tensor &maps, double eps = 1e-5);

// Upsample [B, C, h, w] maps bilinearly (align_corners=false) to height × width.
torch::Tensor resizeMaps(const torch::Tensor &maps, std::int64_t height, std::int64_t width);

} // namespace wsss::vision
