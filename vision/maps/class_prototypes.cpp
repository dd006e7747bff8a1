#include "vision/maps/class_prototypes.h"

#include "vision/core/error.h"

#include <torch/nn/functional/upsampling.h>

#include <algorithm>
#include <string>

namespace wsss::vision {

namespace F = torch::nn::functional;

namespace {

torch::Tensor unitColumns(const torch::Tensor &x) // [D, n]
{
    return x / x.pow(2).sum(0, true).sqrt().clamp_min(1e-8);
}

torch::Tensor minMaxRows(const torch::Tensor &x) // [K, n]
{
    const auto shifted = x - std::get<0>(x.min(1, true));
    return shifted / (std::get<0>(shifted.max(1, true)) + 1e-5);
}

} // namespace

void PrototypeConfig::validate() const
{
    if (!(momentum >= 0 && momentum <= 1))
        throw Error("prototype config: momentum " + c10::str(momentum) + " is outside 0..1");
    if (updatePositions < 1)
        throw Error("prototype config: update_positions " + std::to_string(updatePositions) + " must be ≥ 1");
    if (!(power > 0))
        throw Error("prototype config: power " + c10::str(power) + " must be positive");
    if (minForegroundClasses < 0)
        throw Error("prototype config: min_foreground_classes " + std::to_string(minForegroundClasses) +
                    " is negative");
}

ClassPrototypes::ClassPrototypes(std::int64_t numClasses, std::int64_t dim, const torch::TensorOptions &options)
{
    if (numClasses < 1 || dim < 1)
        throw Error("class prototypes: " + std::to_string(numClasses) + "×" + std::to_string(dim) +
                    " bank, expected at least one class and one dimension");
    m_bank = torch::randn({numClasses, dim}, options.dtype(torch::kFloat));
}

ClassPrototypes::ClassPrototypes(torch::Tensor bank)
{
    if (bank.dim() != 2 || bank.size(0) < 1 || bank.size(1) < 1)
        throw Error("class prototypes: bank " + c10::str(bank.sizes()) + ", expected [K, D]");
    m_bank = bank.to(torch::kFloat).clone();
}

torch::Tensor ClassPrototypes::similarity(const torch::Tensor &features) const
{
    if (features.dim() != 3 || features.size(0) != m_bank.size(1))
        throw Error("class prototypes: features " + c10::str(features.sizes()) + " do not match the " +
                    std::to_string(m_bank.size(1)) + "-dimensional bank (expected [D, h, w])");
    const auto r = unitColumns(features.to(torch::kFloat).flatten(1));   // [D, n]
    const auto p = unitColumns(m_bank.to(features.device()).t()).t();   // [K, D]
    return torch::mm(p, r).view({m_bank.size(0), features.size(1), features.size(2)});
}

torch::Tensor ClassPrototypes::calibrate(const torch::Tensor &carm, const torch::Tensor &features,
                                         const torch::Tensor &labels, const PrototypeConfig &config)
{
    config.validate();
    const auto K = m_bank.size(0);
    if (carm.dim() != 4 || carm.size(1) != K + 1)
        throw Error("class prototypes: CARM " + c10::str(carm.sizes()) + ", expected [B, " + std::to_string(K + 1) +
                    ", h, w] (background + " + std::to_string(K) + " classes)");
    if (features.dim() != 4 || features.size(0) != carm.size(0) || features.size(1) != m_bank.size(1))
        throw Error("class prototypes: features " + c10::str(features.sizes()) + " do not match CARM " +
                    c10::str(carm.sizes()) + " and the " + std::to_string(m_bank.size(1)) +
                    "-dimensional bank (expected [B, D, h', w'])");
    if (labels.dim() != 2 || labels.size(0) != carm.size(0) || labels.size(1) != K)
        throw Error("class prototypes: labels " + c10::str(labels.sizes()) + ", expected [" +
                    std::to_string(carm.size(0)) + ", " + std::to_string(K) + "]");
    torch::NoGradGuard noGrad;
    const auto device = carm.device();
    m_bank = m_bank.to(device);
    const auto h = carm.size(2), w = carm.size(3), n = h * w;
    auto r = features.detach().to(device).to(torch::kFloat);
    if (r.size(2) != h || r.size(3) != w)
        r = F::interpolate(r, F::InterpolateFuncOptions()
                                  .size(std::vector<std::int64_t>{h, w})
                                  .mode(torch::kBilinear)
                                  .align_corners(false));
    const auto present = labels.to(device).to(torch::kFloat).gt(0); // [B, K]
    const auto enough = present.sum(1).ge(config.minForegroundClasses); // [B]
    const auto top = std::min<std::int64_t>(config.updatePositions, n);
    auto out = carm.to(torch::kFloat).clone();
    // Sequential over images (each sees the bank updated by the previous ones), batched over classes.
    for (std::int64_t i = 0; i < carm.size(0); ++i) {
        const auto feats = r[i].flatten(1);                             // [D, n]
        const auto a = out[i].slice(0, 1).flatten(1);                   // [K, n]
        const auto cosine = torch::mm(unitColumns(m_bank.t()).t(), unitColumns(feats)); // [K, n]
        torch::Tensor calibrated;
        if (config.paperCalibration) {
            const auto s = cosine.clamp_min(0);
            calibrated = minMaxRows(a * s * s);
        } else {
            const auto s = minMaxRows(cosine.clamp_min(0).pow(config.power));
            calibrated = torch::where(enough[i], a * s, a);
        }
        const auto mask = present[i].unsqueeze(1);                      // [K, 1]
        calibrated = torch::where(mask, calibrated, a);
        out[i].slice(0, 1).copy_(calibrated.view({K, h, w}));
        // p̄_c = mean of the un-normalised features at the class's top positions.
        const auto idx = std::get<1>(calibrated.topk(top, 1));          // [K, top]
        const auto mean = feats.t().index_select(0, idx.flatten()).view({K, top, -1}).mean(1); // [K, D]
        m_bank = torch::where(mask, config.momentum * m_bank + (1 - config.momentum) * mean, m_bank);
    }
    return out;
}

} // namespace wsss::vision
