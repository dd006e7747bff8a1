#include "training/methods/acr/acr_losses.h"

#include "vision/core/error.h"

#include <torch/torch.h>

namespace wsss::training {

namespace {

// Token indices [0, p) followed by p + π: the view's token order mapped back to the original's.
torch::Tensor tokenIndex(const torch::Tensor &pi, int prefixTokens, std::int64_t tokens)
{
    if (pi.dim() != 1 || pi.size(0) + prefixTokens != tokens)
        throw Error("acr: permutation of " + std::to_string(pi.numel()) + " patches does not fit " +
                    std::to_string(tokens) + " tokens with " + std::to_string(prefixTokens) + " prefix tokens");
    auto prefix = torch::arange(prefixTokens, torch::TensorOptions().dtype(torch::kLong).device(pi.device()));
    return torch::cat({prefix, pi.to(torch::kLong) + prefixTokens});
}

void checkPair(const torch::Tensor &a, const torch::Tensor &b)
{
    if (a.dim() != 4 || a.sizes() != b.sizes() || a.size(2) != a.size(3))
        throw Error("acr: expected two [B, L, T, T] attentions of one shape, got " + c10::str(a.sizes()) + " and " +
                    c10::str(b.sizes()));
}

} // namespace

torch::Tensor stackHeadMeanAttention(const std::vector<torch::Tensor> &attention)
{
    if (attention.empty())
        throw Error("acr: no attention was captured");
    std::vector<torch::Tensor> means;
    means.reserve(attention.size());
    for (const auto &a : attention)
        means.push_back(a.mean(1));
    return torch::stack(means, 1);
}

torch::Tensor reorderViewAttention(const torch::Tensor &viewAttention, const torch::Tensor &pi, int prefixTokens)
{
    const auto index = tokenIndex(pi.to(viewAttention.device()), prefixTokens, viewAttention.size(-1));
    return viewAttention.index_select(-2, index).index_select(-1, index);
}

torch::Tensor activationConsistencyLoss(const torch::Tensor &attention, const torch::Tensor &viewAttention,
                                        const torch::Tensor &pi, int prefixTokens)
{
    checkPair(attention, viewAttention);
    const auto index = tokenIndex(pi.to(attention.device()), prefixTokens, attention.size(-1)).slice(0, prefixTokens);
    const auto row = attention.select(2, 0).slice(-1, prefixTokens);   // [B, L, n]
    const auto viewRow = viewAttention.select(2, 0).index_select(-1, index);
    return (row - viewRow).abs().mean();
}

torch::Tensor affinityConsistencyLoss(const torch::Tensor &attention, const torch::Tensor &viewAttention,
                                      const torch::Tensor &pi, int prefixTokens)
{
    checkPair(attention, viewAttention);
    const auto index = tokenIndex(pi.to(attention.device()), prefixTokens, attention.size(-1)).slice(0, prefixTokens);
    const auto block = attention.slice(2, prefixTokens).slice(3, prefixTokens); // [B, L, n, n]
    const auto viewBlock = viewAttention.index_select(2, index).index_select(3, index);
    return (block - viewBlock).abs().mean();
}

} // namespace wsss::training
