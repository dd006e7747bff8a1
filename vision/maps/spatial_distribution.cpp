#include "vision/maps/spatial_distribution.h"

#include "vision/core/error.h"

#include <cmath>
#include <string>

namespace wsss::vision {

namespace {

void checkActivations(const torch::Tensor &activations)
{
    if (activations.dim() != 4 || activations.size(1) < 1 || activations.size(2) < 1 || activations.size(3) < 1)
        throw Error("spatial distribution: activations " + c10::str(activations.sizes()) +
                    ", expected [B, K, h, w] with K ≥ 1 and a non-empty grid");
}

void checkPositive(const char *name, double value)
{
    if (!(value > 0) || !std::isfinite(value))
        throw Error(std::string("spatial distribution: ") + name + " " + c10::str(value) +
                    " must be a positive finite temperature");
}

} // namespace

torch::Tensor withConstantBackground(const torch::Tensor &activations, double kappa)
{
    checkActivations(activations);
    if (!std::isfinite(kappa))
        throw Error("spatial distribution: background constant kappa " + c10::str(kappa) + " must be finite");
    const auto z = activations.to(torch::kFloat);
    const auto background = torch::full({z.size(0), 1, z.size(2), z.size(3)}, kappa, z.options());
    return torch::cat({background, z}, 1);
}

torch::Tensor classDistribution(const torch::Tensor &activations, double tau, double kappa)
{
    checkPositive("tau", tau);
    return torch::softmax(withConstantBackground(activations, kappa) / tau, 1);
}

torch::Tensor temperaturePoolingWeights(const torch::Tensor &activations, double tau1, double kappa,
                                        bool detachAlpha)
{
    checkPositive("tau1", tau1);
    auto logAlpha = torch::log_softmax(withConstantBackground(activations, kappa), 1).slice(1, 1); // [B, K, h, w]
    if (detachAlpha)
        logAlpha = logAlpha.detach();
    // (α)^{1/τ₁} / Σ_ij (α)^{1/τ₁} = softmax_ij(log α / τ₁) (usage.md §4 step 3).
    return torch::softmax((logAlpha / tau1).flatten(2), 2).view_as(logAlpha);
}

torch::Tensor temperaturePooledScores(const torch::Tensor &activations, double tau1, double kappa, bool detachAlpha)
{
    const auto weights = temperaturePoolingWeights(activations, tau1, kappa, detachAlpha);
    return (weights * activations.to(torch::kFloat)).flatten(2).sum(2);
}

} // namespace wsss::vision
