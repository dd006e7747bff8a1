#pragma once
// Pseudo affinity labels for training an affinity head (AFA; methods/afa.md §9.2): token pairs
// of a pseudo-label map are positive when their labels agree, negative when they differ, and
// ignored when either is 255 or the pair lies outside the Chebyshev window.
#include <torch/types.h>

#include <cstdint>

namespace wsss::vision {

constexpr std::uint8_t kAffinityIgnore = 255;

// labels [B, H, W] (class ids, 255 = ignore; any integer or float type) → [B, gridH·gridW] long
// tokens, nearest-downsampled as PyTorch's legacy "nearest" does: source index floor(i·H/gridH),
// the top-left pixel of each cell.
torch::Tensor labelTokens(const torch::Tensor &labels, std::int64_t gridH, std::int64_t gridW);

// → [B, N, N] uint8: 1 where tokens i and j carry the same label, 0 where they differ, 255 where
// either is 255 or |y_i − y_j| or |x_i − x_j| exceeds radius.
torch::Tensor affinityLabels(const torch::Tensor &labels, std::int64_t gridH, std::int64_t gridW,
                             std::int64_t radius = 8);

} // namespace wsss::vision
