#pragma once
// torchvision's photometric augmentations as tensor ops on [0, 1] RGB, for the augmentations
// methods make inside their training step (ECA's crops, DINO's views): ColorJitter with its
// four factors in a random order per call and the hue shifted through HSV, and the Rec. 601
// grayscale. Random draws come from LibTorch's global generator, which the run's seed sets.
#include <torch/types.h>

namespace wsss::training {

struct ColorJitterRanges {
    double brightness = 0.4, contrast = 0.4, saturation = 0.2, hue = 0.1; // factors in [1 − v, 1 + v]; hue in [−v, v]
};

// One image [3, H, W] in [0, 1], as torchvision's ColorJitter.
torch::Tensor colorJitter(const torch::Tensor &image, const ColorJitterRanges &ranges);

// Rec. 601 luma over the channel axis (dim −3), kept as one channel: [..., 3, H, W] → [..., 1, H, W].
torch::Tensor grayscale(const torch::Tensor &image);

// RGB ↔ HSV of [3, H, W] in [0, 1], as torchvision's tensor functions compute them.
torch::Tensor rgbToHsv(const torch::Tensor &rgb);
torch::Tensor hsvToRgb(const torch::Tensor &hsv);

} // namespace wsss::training
