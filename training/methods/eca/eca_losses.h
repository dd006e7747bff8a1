#pragma once
// ECA's crop correspondence loss, CCE (methods/eca.md §8; paper Eq. 11): within each local crop,
// pairs of positions with the same pseudo label are pulled together and pairs with different
// labels pushed apart, on their K-dimensional CAM vectors.
#include <torch/types.h>

#include <string>

namespace wsss::training {

// cams [B, V, K, P] (V crops per image, P positions each, raw CAM values, with gradient),
// labels [B, V, P] long (255 = ignore). Pairs are taken within a crop only; an image's positive
// and negative pairs are pooled over its V crops; the diagonal and pairs touching 255 are ignored.
//   "abs_cosine" (the code): s = |cos(v_p, v_q)| (vectors divided by max(‖v‖, 1e-8));
//   "js" (the paper): s = 1 − JS(softmax v_p, softmax v_q)/ln 2.
// ℓ_i = ½·(1 − Σ_pos s/(N_pos + 1)) + ½·Σ_neg s/(N_neg + 1); the loss is Σ_i ℓ_i/(B·V).
torch::Tensor cceLoss(const torch::Tensor &cams, const torch::Tensor &labels, const std::string &form = "abs_cosine");

// The pair similarities s [P, P] of one crop's vectors [K, P] by the form above.
torch::Tensor ccePairSimilarity(const torch::Tensor &vectors, const std::string &form);

} // namespace wsss::training
