#pragma once
// USAGE's spatial activation distribution (Peng et al., ICCV 2023; METHODS.md §6, methods/usage.md
// §4–5): the activations z of K classes get a constant background logit κ at channel 0, α is the
// softmax over those K + 1 channels at every location, and class c's image score pools z_c with
// weights ∝ (α_c)^{1/τ₁} over the locations (Eq. 8). Small τ₁ sharpens the pooling towards the
// arg-max location, large τ₁ flattens it into global average pooling. Everything is computed in
// log space: (α)^{1/τ₁} itself underflows in float32 for small α. Pure tensor functions, any
// device, differentiable (gradients reach z through α unless it is detached).
#include <torch/types.h>

namespace wsss::vision {

// ẑ = [κ; z]: z [B, K, h, w] → [B, K + 1, h, w] float, channel 0 the constant κ (usage.md §4 step
// 1: "a constant value", not given; κ = 0 [interp]). κ must be finite.
torch::Tensor withConstantBackground(const torch::Tensor &activations, double kappa = 0.0);

// The class distribution at temperature τ: softmax over the K + 1 channels of ẑ / τ →
// [B, K + 1, h, w]. τ = 1 gives α (Eq. 7); τ = τ₂ = 0.1 the sharpened distribution of L_REG
// (usage.md §5.3), equal to α^{1/τ} renormalised over the classes. τ > 0.
torch::Tensor classDistribution(const torch::Tensor &activations, double tau = 1.0, double kappa = 0.0);

// The pooling weights of Eq. 8 for the K foreground classes: softmax over the h·w locations of
// (1/τ₁)·log α_c → [B, K, h, w], each (image, class) summing to 1. τ₁ = 1 (transformer) or 50
// (CNN); τ₁ > 0. detachAlpha stops the gradient through α (the ablation switch of usage.md §4
// step 5).
torch::Tensor temperaturePoolingWeights(const torch::Tensor &activations, double tau1, double kappa = 0.0,
                                        bool detachAlpha = false);

// The image scores s̃_c = Σ_ij weight_c,ij · z_c,ij → [B, K], the input of L_GEN's multi-label
// soft-margin loss.
torch::Tensor temperaturePooledScores(const torch::Tensor &activations, double tau1, double kappa = 0.0,
                                      bool detachAlpha = false);

} // namespace wsss::vision
