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

} // namespace wsss::training
