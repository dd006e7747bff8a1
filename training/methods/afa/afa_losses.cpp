#include "training/methods/afa/afa_losses.h"

#include <torch/nn/functional/loss.h>

namespace wsss::training {

torch::Tensor affinityLoss(const torch::Tensor &prediction, const torch::Tensor &labels)
{
    const auto pos = (labels == 1).to(prediction.scalar_type());
    const auto neg = (labels == 0).to(prediction.scalar_type());
    const auto posCount = pos.sum() + 1, negCount = neg.sum() + 1;
    return 0.5 * (pos * (1 - prediction)).sum() / posCount + 0.5 * (neg * prediction).sum() / negCount;
}

torch::Tensor balancedSegLoss(const torch::Tensor &logits, const torch::Tensor &labels)
{
    // Per-pixel CE once, then the two means; an empty side contributes 0 instead of 0/0.
    const auto target = labels.masked_fill(labels == 255, 0);
    const auto perPixel = torch::nn::functional::cross_entropy(
        logits, target, torch::nn::functional::CrossEntropyFuncOptions().reduction(torch::kNone));
    const auto bg = (labels == 0).to(perPixel.scalar_type());
    const auto fg = ((labels > 0) & (labels != 255)).to(perPixel.scalar_type());
    const auto bgLoss = (perPixel * bg).sum() / bg.sum().clamp_min(1);
    const auto fgLoss = (perPixel * fg).sum() / fg.sum().clamp_min(1);
    return 0.5 * bgLoss + 0.5 * fgLoss;
}

} // namespace wsss::training
