#include "vision/maps/gradient_maps.h"

#include "vision/core/error.h"

#include <torch/torch.h>

namespace wsss::vision {

torch::Tensor gradientClassToPatch(const std::vector<torch::Tensor> &grads, int prefixTokens, int row)
{
    if (grads.empty())
        throw Error("gradientClassToPatch: no block gradients");
    torch::Tensor sum;
    for (const auto &g : grads) {
        const auto batched = g.dim() == 3 ? g.unsqueeze(0) : g;
        if (batched.dim() != 4 || batched.size(2) != batched.size(3))
            throw Error("gradientClassToPatch: expected [C, heads, T, T] gradients, got " + c10::str(g.sizes()));
        if (sum.defined() && (batched.size(0) != sum.size(0) || batched.size(2) != sum.size(1)))
            throw Error("gradientClassToPatch: blocks disagree on the class or token count");
        // Only the class token's row is read: clamp and average that row alone.
        const auto rowGrad = batched.select(2, row).clamp_min(0).mean(1); // [C, T]
        sum = sum.defined() ? sum + rowGrad : rowGrad;
    }
    if (prefixTokens < 0 || prefixTokens >= sum.size(1) || row < 0 || row >= sum.size(1))
        throw Error("gradientClassToPatch: prefix " + std::to_string(prefixTokens) + " or row " + std::to_string(row) +
                    " does not fit " + std::to_string(sum.size(1)) + " tokens");
    return sum.slice(1, prefixTokens).clamp_min(0);
}

} // namespace wsss::vision
