#pragma once
// The local crops of ECA's CCE (methods/eca.md §8 steps 1–2): centres drawn among the CAM label's
// foreground pixels away from the border, crops cut from the de-normalised image and its label,
// then re-augmented as the official code does (torchvision's ColorJitter in random order,
// RandomGrayscale, a horizontal flip of crop and label together). Tensor ops on the batch's
// device; random draws from LibTorch's global generator, which the run's seed sets.
#include "training/data/color_jitter.h"
#include "vision/backbones/backbone.h"

#include <torch/types.h>

#include <cstdint>

namespace wsss::training {

struct CropAugment {
    ColorJitterRanges jitter; // ColorJitter(0.4, 0.4, 0.2, 0.1)
    double grayscale = 0.2; // probability of RandomGrayscale
    double flip = 0.5;      // probability of the horizontal flip
};

struct CorrespondenceCrops {
    torch::Tensor images; // [B·V, 3, side, side] normalised for the backbone (crop v of image i at i·V + v)
    torch::Tensor labels; // [B·V, side, side] long, flipped with its crop
};

// image [B, 3, H, W] in [0, 1]; labels [B, H, W] long (0 background, 255 ignore). Each centre is a
// pixel at least side/2 from every border (official: margin 128 of a 512 crop) whose label is
// neither 0 nor 255, or any pixel of that square when fewer than `crops` are.
CorrespondenceCrops correspondenceCrops(const torch::Tensor &image, const torch::Tensor &labels, int crops,
                                        std::int64_t side, const CropAugment &augment,
                                        const vision::Normalization &norm);

} // namespace wsss::training
