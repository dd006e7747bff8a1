#include "training/methods/eca/eca_losses.h"

#include "vision/core/error.h"

#include <ATen/ATen.h>
#include <torch/nn/functional/normalization.h>

#include <cmath>

namespace wsss::training {

namespace F = torch::nn::functional;

torch::Tensor ccePairSimilarity(const torch::Tensor &vectors, const std::string &form)
{
    if (form == "abs_cosine") {
        const auto v = F::normalize(vectors.t(), F::NormalizeFuncOptions().dim(1).eps(1e-8)); // [P, K]
        return torch::mm(v, v.t()).abs();
    }
    if (form == "js") {
        const auto logp = vectors.t().log_softmax(1); // [P, K]
        const auto p = logp.exp();
        // JS(p, q) = ½ Σ p log(p/m) + ½ Σ q log(q/m), m = (p + q)/2, for every pair.
        const auto pi = p.unsqueeze(1), pj = p.unsqueeze(0);           // [P, 1, K], [1, P, K]
        const auto logm = ((pi + pj) / 2).clamp_min(1e-12).log();     // [P, P, K]
        const auto js = 0.5 * (pi * (logp.unsqueeze(1) - logm)).sum(2) + 0.5 * (pj * (logp.unsqueeze(0) - logm)).sum(2);
        return 1.0 - js / std::log(2.0);
    }
    throw Error("eca: cce_loss \"" + form + "\" is not abs_cosine or js");
}

torch::Tensor cceLoss(const torch::Tensor &cams, const torch::Tensor &labels, const std::string &form)
{
    if (cams.dim() != 4 || labels.dim() != 3 || labels.size(0) != cams.size(0) || labels.size(1) != cams.size(1) ||
        labels.size(2) != cams.size(3))
        throw Error("eca CCE: CAMs " + c10::str(cams.sizes()) + " and labels " + c10::str(labels.sizes()) +
                    " do not match (expected [B, V, K, P] and [B, V, P])");
    const auto B = cams.size(0), V = cams.size(1), P = cams.size(3);
    const auto offDiagonal = torch::eye(P, labels.options().dtype(torch::kBool)).logical_not();
    auto total = cams.new_zeros({});
    for (std::int64_t i = 0; i < B; ++i) {
        auto posSum = cams.new_zeros({}), negSum = cams.new_zeros({});
        std::int64_t posCount = 0, negCount = 0;
        for (std::int64_t v = 0; v < V; ++v) {
            const auto s = ccePairSimilarity(cams[i][v], form);         // [P, P]
            const auto l = labels[i][v];
            const auto known = l.ne(255);
            const auto valid = known.unsqueeze(1).logical_and(known.unsqueeze(0)).logical_and(offDiagonal);
            const auto same = l.unsqueeze(1).eq(l.unsqueeze(0));
            const auto pos = valid.logical_and(same), neg = valid.logical_and(same.logical_not());
            posSum = posSum + s.masked_select(pos).sum();
            negSum = negSum + s.masked_select(neg).sum();
            posCount += pos.sum().item<std::int64_t>();
            negCount += neg.sum().item<std::int64_t>();
        }
        total = total + 0.5 * (1.0 - posSum / static_cast<double>(posCount + 1)) +
                0.5 * negSum / static_cast<double>(negCount + 1);
    }
    return total / static_cast<double>(B * V);
}

} // namespace wsss::training
