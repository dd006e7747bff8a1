#include "vision/maps/affinity_refine.h"

#include "vision/core/error.h"

#include <torch/torch.h>

namespace wsss::vision {

AffinityProduct affinityProductFromName(const std::string &name)
{
    if (name == "a_g")
        return AffinityProduct::AffinityTimesMap;
    if (name == "g_a")
        return AffinityProduct::MapTimesAffinity;
    throw Error("unknown affinity product \"" + name + "\" (known: a_g, g_a)");
}

std::string affinityProductName(AffinityProduct product)
{
    return product == AffinityProduct::AffinityTimesMap ? "a_g" : "g_a";
}

torch::Tensor patchAffinity(const std::vector<torch::Tensor> &attention, int prefixTokens)
{
    if (attention.empty())
        throw Error("patchAffinity: no attention blocks");
    torch::Tensor sum;
    for (const auto &a : attention) {
        if ((a.dim() != 3 && a.dim() != 4) || a.size(-1) != a.size(-2) || a.size(-1) <= prefixTokens)
            throw Error("patchAffinity: expected [heads, T, T] or [B, heads, T, T] attention, got " +
                        c10::str(a.sizes()));
        const auto patches = a.mean(-3).slice(-2, prefixTokens).slice(-1, prefixTokens);
        sum = sum.defined() ? sum + patches : patches;
    }
    return sum;
}

torch::Tensor refineWithAffinity(const torch::Tensor &maps, const torch::Tensor &affinity, AffinityProduct product)
{
    if (maps.dim() != 3 && maps.dim() != 4)
        throw Error("refineWithAffinity: expected maps [K, h, w] or [B, K, h, w], got " + c10::str(maps.sizes()));
    const auto n = maps.size(-1) * maps.size(-2);
    if (affinity.dim() < 2 || affinity.size(-1) != n || affinity.size(-2) != n)
        throw Error("refineWithAffinity: affinity " + c10::str(affinity.sizes()) + " does not match " +
                    std::to_string(n) + " patches of maps " + c10::str(maps.sizes()));
    auto flat = maps.flatten(-2); // [..., K, n]
    if (affinity.dim() > 3 || (affinity.dim() == 3 && (maps.dim() != 4 || affinity.size(0) != maps.size(0))))
        throw Error("refineWithAffinity: affinity " + c10::str(affinity.sizes()) + " does not match the batch of maps " +
                    c10::str(maps.sizes()));
    const auto a = affinity.to(flat.dtype());
    // Rows of `flat` are the maps g: A·g is g·Aᵀ in row form; gᵀ·A is g·A.
    auto refined = product == AffinityProduct::AffinityTimesMap ? torch::matmul(flat, a.transpose(-1, -2))
                                                                : torch::matmul(flat, a);
    return refined.reshape(maps.sizes());
}

} // namespace wsss::vision
