#include "training/methods/method.h"

#include <torch/optim/adamw.h>
#include <cmath>
#include <torch/torch.h>

namespace wsss::training {

vision::CaptureRequest inspectionCapture(bool wanted, const vision::VitConfig &config, std::int64_t height,
                                         std::int64_t width)
{
    if (!wanted)
        return vision::CaptureRequest::none();
    const std::int64_t tokens = config.prefixTokens + (height / config.patchSize) * (width / config.patchSize);
    vision::CaptureRequest request;
    if (tokens <= kDenseAttentionTokens)
        request.attention = true;
    else
        request.queries = request.keys = true;
    return request;
}

void takeAttention(vision::BackboneOutput &out, const vision::VitConfig &config, MethodOutput &result)
{
    for (auto &a : out.attention)
        result.attention.push_back(a[0]);
    for (auto &q : out.queries)
        result.queries.push_back(q[0]);
    for (auto &k : out.keys)
        result.keys.push_back(k[0]);
    result.attentionScale = 1.0 / std::sqrt(static_cast<double>(config.embedDim / config.heads));
}

torch::Tensor StepResult::total() const
{
    torch::Tensor sum;
    for (const auto &[name, loss] : losses)
        sum = sum.defined() ? sum + loss : loss;
    return sum;
}

std::vector<torch::optim::OptimizerParamGroup> Method::parameterGroups(double lr, double backboneScale,
                                                                      double weightDecay)
{
    // Four groups: {backbone, heads} × {decayed, not decayed}.
    std::vector<torch::Tensor> groups[4];
    const auto noDecayNames = m_backbone->noWeightDecay();
    for (const auto &p : named_parameters(true)) {
        if (!p.value().requires_grad())
            continue;
        const std::string &key = p.key();
        const bool isBackbone = key.rfind("backbone.", 0) == 0;
        bool noDecay = p.value().dim() <= 1;
        for (const auto &n : noDecayNames)
            noDecay = noDecay || key == "backbone." + n;
        groups[(isBackbone ? 0 : 2) + (noDecay ? 1 : 0)].push_back(p.value());
    }
    std::vector<torch::optim::OptimizerParamGroup> out;
    for (int i = 0; i < 4; ++i) {
        if (groups[i].empty())
            continue;
        auto options = std::make_unique<torch::optim::AdamWOptions>(i < 2 ? lr * backboneScale : lr);
        options->weight_decay(i % 2 ? 0.0 : weightDecay);
        out.emplace_back(groups[i], std::move(options));
    }
    return out;
}

} // namespace wsss::training
