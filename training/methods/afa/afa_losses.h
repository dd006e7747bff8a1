#pragma once
// AFA's two extra losses (methods/afa.md §9.3, §10), as the official code computes them.
#include <torch/types.h>

namespace wsss::training {

// Affinity loss: prediction [B, N, N] in (0, 1), labels [B, N, N] uint8 (1 same class, 0 other
// class, 255 ignore). 0.5·Σ pos·(1 − A)/(n₊ + 1) + 0.5·Σ neg·A/(n₋ + 1), summed over the batch.
torch::Tensor affinityLoss(const torch::Tensor &prediction, const torch::Tensor &labels);

// Background/foreground-balanced cross-entropy: logits [B, 1 + C, H, W], labels [B, H, W] long
// (0 background, 1..C classes, 255 ignore) → 0.5·CE(background pixels) + 0.5·CE(class pixels),
// each averaged over its own pixels; a term with no pixel counts 0 (the official code gives NaN).
torch::Tensor balancedSegLoss(const torch::Tensor &logits, const torch::Tensor &labels);

// The regularisation loss the official code had until it removed it (afa.md §10): Tang et al.'s
// dense-CRF energy −Σ_k S_kᵀ (g ⊙ W S_k) / B, W the bilateral Gaussian over (x, y)/σ_xy and
// (r, g, b)/σ_rgb filtered on a permutohedral lattice (self term included), S the softmax of the
// seg logits. The gate g is 1 at unlabelled (255) pixels and 1 − max_c S_c elsewhere, clamped at
// 0, and is a constant for the gradient, which is −2·g·W S / B as the official backward has it.
// probs [B, K, H, W]; rgb255 [B, 3, H, W] the image in 0..255; labels [B, H, W] (255 = unlabelled).
// All three are taken at scale × the size (image and labels nearest, probs bilinear) with σ_xy
// scaled the same. Computed on the CPU (the official code also leaves the GPU for it).
struct DenseEnergyConfig {
    double sigmaRgb = 15, sigmaXy = 100, scale = 0.5;
};
torch::Tensor denseEnergyLoss(const torch::Tensor &probs, const torch::Tensor &rgb255, const torch::Tensor &labels,
                              const DenseEnergyConfig &config = {});

} // namespace wsss::training
