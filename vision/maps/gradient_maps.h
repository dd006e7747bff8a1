#pragma once
// ACR's gradient class-to-patch map (methods/acr.md §7.1 steps 5.2–5.5): the gradient of a class
// logit with respect to each block's post-softmax attention, clamped at 0 per head, averaged over
// heads, summed over the chosen blocks (ACR: the last two), read on the class token's row over
// the patch columns and clamped again. The caller computes the gradients (one autograd pass per
// class, or classes stacked along the batch); this file only turns them into maps.
#include <torch/types.h>

#include <vector>

namespace wsss::vision {

// grads: one entry per chosen block, each [C, heads, T, T] = ∂z_c/∂A for the C classes stacked
// along dim 0 (a single [heads, T, T] is read as C = 1). Returns [C, T − prefixTokens]:
// relu(Σ_blocks mean_heads relu(G))[row, prefixTokens:], row = the class token's index.
torch::Tensor gradientClassToPatch(const std::vector<torch::Tensor> &grads, int prefixTokens = 1, int row = 0);

} // namespace wsss::vision
