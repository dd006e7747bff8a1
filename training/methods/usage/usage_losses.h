#pragma once
// USAGE's losses (methods/usage.md §4–5) on activations z [B, K, h, w]; the background channel is
// the constant κ (vision/maps/spatial_distribution.h).
#include <torch/types.h>

#include <string>

namespace wsss::training {

// L_GEN: multilabel soft-margin loss of the τ₁-pooled scores s̃ [B, K] against labels [B, K].
torch::Tensor usageGenerationLoss(const torch::Tensor &scores, const torch::Tensor &labels);

// L_REG between the student's and the teacher's activations (the teacher is detached here).
// form "kd": τ₂²·mean_{b,ij} Σ_{c=0..K} −softmax(ẑ_T/τ₂)_c·log_softmax(ẑ_S/τ₂)_c;
// form "literal": τ₂²·mean_{b,ij} Σ_c −exp(log α̃_c/τ₂)·(1/τ₂)·log α_c with α = softmax(ẑ).
torch::Tensor usageRegularizationLoss(const torch::Tensor &student, const torch::Tensor &teacher, double tau2,
                                      double kappa = 0.0, const std::string &form = "kd");

// c_t: the mean of σ(scores) over the positive (image, class) pairs; negative when there is none.
double usageClassificationStatus(const torch::Tensor &scores, const torch::Tensor &labels);

} // namespace wsss::training
