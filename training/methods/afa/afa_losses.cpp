#include "training/methods/afa/afa_losses.h"

#include "vision/refine/permutohedral.h"

#include <torch/autograd.h>
#include <torch/nn/functional/loss.h>
#include <torch/nn/functional/upsampling.h>

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

namespace {

namespace F = torch::nn::functional;

torch::Tensor rescale(const torch::Tensor &x, double scale, bool bilinear)
{
    auto options = F::InterpolateFuncOptions().scale_factor(std::vector<double>{scale, scale}).recompute_scale_factor(false);
    if (bilinear)
        options.mode(torch::kBilinear).align_corners(false);
    else
        options.mode(torch::kNearest);
    return F::interpolate(x, options);
}

// W·S for one image: probs [K, H, W] and rgb [3, H, W] on the CPU, float → [K, H, W].
torch::Tensor bilateralFilter(const torch::Tensor &probs, const torch::Tensor &rgb, double sigmaRgb, double sigmaXy)
{
    const auto K = probs.size(0), H = probs.size(1), W = probs.size(2);
    const auto ys = torch::arange(H, torch::kFloat).view({H, 1}).expand({H, W});
    const auto xs = torch::arange(W, torch::kFloat).view({1, W}).expand({H, W});
    const auto features = torch::stack({xs / sigmaXy, ys / sigmaXy, rgb[0] / sigmaRgb, rgb[1] / sigmaRgb,
                                        rgb[2] / sigmaRgb}, -1)
                              .reshape({H * W, 5})
                              .contiguous();
    const vision::PermutohedralLattice lattice(features.data_ptr<float>(), H * W, 5);
    const auto values = probs.reshape({K, H * W}).t().contiguous(); // point-major
    auto filtered = torch::empty_like(values);
    lattice.filter(values.data_ptr<float>(), filtered.data_ptr<float>(), static_cast<int>(K));
    return filtered.t().reshape({K, H, W});
}

// The official autograd function: the energy forward, −2·g·W S / B backward (g held constant).
class DenseEnergy : public torch::autograd::Function<DenseEnergy> {
public:
    static torch::Tensor forward(torch::autograd::AutogradContext *ctx, const torch::Tensor &probs,
                                 const torch::Tensor &rgb, const torch::Tensor &gate, double sigmaRgb, double sigmaXy)
    {
        const auto B = probs.size(0);
        const auto cpuProbs = probs.detach().to(torch::kCPU, torch::kFloat).contiguous();
        const auto cpuRgb = rgb.to(torch::kCPU, torch::kFloat).contiguous();
        std::vector<torch::Tensor> filtered;
        for (std::int64_t b = 0; b < B; ++b)
            filtered.push_back(bilateralFilter(cpuProbs[b], cpuRgb[b], sigmaRgb, sigmaXy));
        const auto gated = (torch::stack(filtered) * gate.to(torch::kCPU, torch::kFloat).unsqueeze(1))
                               .to(probs.device(), probs.scalar_type());
        ctx->saved_data["gated"] = gated;
        ctx->saved_data["batch"] = B;
        return -(probs.detach() * gated).sum() / static_cast<double>(B);
    }

    static torch::autograd::variable_list backward(torch::autograd::AutogradContext *ctx,
                                                   torch::autograd::variable_list grads)
    {
        const auto gated = ctx->saved_data["gated"].toTensor();
        const auto B = ctx->saved_data["batch"].toInt();
        return {-2.0 * grads[0] * gated / static_cast<double>(B), torch::Tensor(), torch::Tensor(), torch::Tensor(),
                torch::Tensor()};
    }
};

} // namespace

torch::Tensor denseEnergyLoss(const torch::Tensor &probs, const torch::Tensor &rgb255, const torch::Tensor &labels,
                              const DenseEnergyConfig &config)
{
    auto s = probs, rgb = rgb255.to(probs.scalar_type()), unlabelled = (labels == 255).unsqueeze(1).to(torch::kFloat);
    double sigmaXy = config.sigmaXy;
    if (config.scale != 1.0) {
        s = rescale(s, config.scale, true);
        rgb = rescale(rgb, config.scale, false);
        unlabelled = rescale(unlabelled, config.scale, false);
        sigmaXy *= config.scale;
    }
    torch::Tensor gate;
    {
        torch::NoGradGuard noGrad;
        gate = (1 - std::get<0>(s.max(1))).masked_fill(unlabelled.squeeze(1) > 0.5, 1.0).clamp_min(0);
    }
    return DenseEnergy::apply(s, rgb, gate, config.sigmaRgb, sigmaXy);
}

} // namespace wsss::training
