#pragma once
// AFA's pseudo labels (methods/afa.md §7): class maps get a constant background channel at a
// high and a low score, go through PAR at half resolution, are arg-maxed, and the two label
// maps are combined into reliable foreground, reliable background and 255 = ignore. Batched:
// absent classes are excluded from the softmax and the arg-max by masking, which equals the
// official per-image selection of the present channels.
#include "vision/refine/par.h"

#include <torch/types.h>

#include <array>

namespace wsss::vision {

struct RefinedLabelConfig {
    double high = 0.55;  // β_h: background score of the conservative map
    double low = 0.35;   // β_l: background score of the permissive map
    int downscale = 2;   // PAR runs at 1/downscale of the image
    ParConfig par;       // AFA's: dilations 1..24, 10 iterations

    void validate() const; // wsss::Error naming the field
};

// Lh, Ll [B, H, W] (0 = background, k = class k) → [B, H, W] long: Lh where it is a class,
// 0 where both are background, 255 where Lh is background but Ll is not.
torch::Tensor combineHighLow(const torch::Tensor &labelsHigh, const torch::Tensor &labelsLow);

// §7.1 (refine_cams_with_bkg_v2): image [B, 3, H, W] in [0, 1], cams [B, C, H, W] in [0, 1],
// classLabels [B, C] multi-hot → [B, H, W] long labels in {0..C, 255}.
torch::Tensor refineCamsWithBackground(const torch::Tensor &image, const torch::Tensor &cams,
                                       const torch::Tensor &classLabels, const RefinedLabelConfig &config = {});

// §7.2–7.3 (refine_cams_with_cls_label + combination): propagated maps with their background
// channel, [B, 1 + C, H, W], from the high and the low background score, refined by PAR (no new
// softmax) and combined → [B, H, W] long labels in {0..C, 255}.
torch::Tensor refinePropagatedMaps(const torch::Tensor &image, const torch::Tensor &mapsHigh,
                                   const torch::Tensor &mapsLow, const torch::Tensor &classLabels,
                                   const RefinedLabelConfig &config = {});

// Network input back to the [0, 1] image PAR reads: x·std + mean, cast to 8 bits by truncation
// as the official code does, /255. normalized [B, 3, H, W]; mean and std per channel on 0..1.
torch::Tensor denormalizeTo8Bit(const torch::Tensor &normalized, const std::array<float, 3> &mean,
                                const std::array<float, 3> &std);

} // namespace wsss::vision
