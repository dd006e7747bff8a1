#pragma once
// ACR's training losses (methods/acr.md §5.1): pure tensor functions, each testable alone.
// attention: the head-averaged attention of every block, [B, L, T, T] with T = prefix + n; the
// view's tokens are put back in the original order with π (vision/maps/token_permutation.h).
#include <torch/types.h>

#include <vector>

namespace wsss::training {

// The head-mean attention of each captured block, stacked: per block [B, heads, T, T] →
// [B, L, T, T]. Stays in the autograd graph.
torch::Tensor stackHeadMeanAttention(const std::vector<torch::Tensor> &attention);

// L_act = mean over (b, l, j) of |A[b, l, 0, p + j] − A′[b, l, 0, p + π(j)]|, p = prefixTokens:
// the class token's row over the patches.
torch::Tensor activationConsistencyLoss(const torch::Tensor &attention, const torch::Tensor &viewAttention,
                                        const torch::Tensor &pi, int prefixTokens = 1);

// L_aff = mean over (b, l, i, j) of |A[b, l, p + i, p + j] − A′[b, l, p + π(i), p + π(j)]|: the
// patch-to-patch block.
torch::Tensor affinityConsistencyLoss(const torch::Tensor &attention, const torch::Tensor &viewAttention,
                                      const torch::Tensor &pi, int prefixTokens = 1);

// The view's attention [..., T, T] with its patch tokens put in the original order (prefix tokens
// stay first): result[..., p + i, p + j] = A′[..., p + π(i), p + π(j)].
torch::Tensor reorderViewAttention(const torch::Tensor &viewAttention, const torch::Tensor &pi, int prefixTokens = 1);

} // namespace wsss::training
