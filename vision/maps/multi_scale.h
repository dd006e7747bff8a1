#pragma once
// Multi-scale + flip aggregation of class maps (AFA's multi_scale_cam, METHODS.md §8; the
// usual test-time augmentation of WSSS seeds): the network runs on the image resized to each
// scale together with its mirror, each result is brought back to the input size (or a given
// one), the two flips merged, and the scales summed (or their maximum taken).
#include <torch/types.h>

#include <functional>
#include <vector>

namespace wsss::vision {

enum class FlipMerge {
    Max,  // element-wise maximum of the map and the mirrored map of the flip (AFA's CAMs)
    Sum,  // their sum (ACR, MCTformer)
    Mean, // their mean (AFA's and ECA's segmentation logits)
};

enum class ScaleMerge {
    Sum, // the scales' maps summed (CAMs)
    Max, // their element-wise maximum (AFA's and ECA's segmentation logits)
};

struct MultiScaleConfig {
    std::vector<double> scales{1.0, 0.5, 1.5}; // AFA's order; the first is usually 1
    bool flip = true;                          // add the mirrored pass
    FlipMerge merge = FlipMerge::Max;
    bool relu = true;                          // rectify each scale's merged map before the sum
    int sizeMultiple = 1;                      // scaled sides are rounded to a multiple of this (a ViT's patch)
    bool normalize = true;                     // min-max per image and class at the end (eps 1e-5)
    ScaleMerge scaleMerge = ScaleMerge::Sum;
    // The size each scale's map is brought to before the scales merge (0: the input's size).
    std::int64_t outputHeight = 0, outputWidth = 0;

    void validate() const; // wsss::Error naming the field
};

// mapsOf: a batch [N, 3, h, w] → class maps [N, C, h', w'] at any resolution. images [B, 3, H, W]
// → [B, C, H, W] (or the output size). Each scale runs [x; flip(x)] as one batch of 2B. The callable is called once
// per scale, in the order of config.scales, so it may keep what it needs from a given scale.
torch::Tensor multiScaleMaps(const std::function<torch::Tensor(const torch::Tensor &)> &mapsOf,
                             const torch::Tensor &images, const MultiScaleConfig &config = {});

// The side of a scaled input: int(scale·side) (as the official code truncates), rounded to the
// nearest positive multiple of `multiple`.
std::int64_t scaledSide(std::int64_t side, double scale, int multiple);

} // namespace wsss::vision
