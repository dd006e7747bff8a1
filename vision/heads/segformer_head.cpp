#include "vision/heads/segformer_head.h"

#include "vision/core/error.h"

#include <torch/torch.h>

namespace wsss::vision {

namespace F = torch::nn::functional;

void SegformerHeadConfig::validate() const
{
    for (std::size_t i = 0; i < inChannels.size(); ++i)
        if (inChannels[i] <= 0)
            throw Error("segformer head: inChannels[" + std::to_string(i) + "] = " +
                        std::to_string(inChannels[i]) + " must be positive");
    if (embedDim <= 0)
        throw Error("segformer head: embedDim " + std::to_string(embedDim) + " must be positive");
    if (numClasses <= 0)
        throw Error("segformer head: numClasses " + std::to_string(numClasses) + " must be positive");
    if (dropout < 0 || dropout >= 1)
        throw Error("segformer head: dropout " + std::to_string(dropout) + " must be in [0, 1)");
}

SegformerMlpImpl::SegformerMlpImpl(int in, int embedDim)
{
    m_proj = register_module("proj", torch::nn::Linear(in, embedDim));
}

torch::Tensor SegformerMlpImpl::forward(const torch::Tensor &x)
{
    const auto B = x.size(0), h = x.size(2), w = x.size(3);
    auto tokens = m_proj(x.flatten(2).transpose(1, 2)); // [B, h*w, E]
    return tokens.transpose(1, 2).reshape({B, -1, h, w});
}

ConvBnReluImpl::ConvBnReluImpl(int in, int out, double bnEps, double bnMomentum)
{
    m_conv = register_module("conv", torch::nn::Conv2d(torch::nn::Conv2dOptions(in, out, 1).bias(false)));
    m_bn = register_module("bn", torch::nn::BatchNorm2d(torch::nn::BatchNormOptions(out).eps(bnEps).momentum(bnMomentum)));
    // mmcv's ConvModule init: kaiming normal (fan_out, relu) for the conv; BN weight 1, bias 0.
    torch::NoGradGuard noGrad;
    torch::nn::init::kaiming_normal_(m_conv->weight, 0.0, torch::kFanOut, torch::kReLU);
}

torch::Tensor ConvBnReluImpl::forward(const torch::Tensor &x)
{
    return torch::relu(m_bn(m_conv(x)));
}

SegformerHeadImpl::SegformerHeadImpl(SegformerHeadConfig config) : m_config(std::move(config))
{
    m_config.validate();
    const auto &c = m_config;
    for (std::size_t i = 0; i < c.inChannels.size(); ++i)
        m_linears.push_back(register_module("linear_c" + std::to_string(i + 1), SegformerMlp(c.inChannels[i], c.embedDim)));
    const int stages = static_cast<int>(c.inChannels.size());
    m_fuse = register_module("linear_fuse", ConvBnRelu(stages * c.embedDim, c.embedDim, c.bnEps, c.bnMomentum));
    m_dropout = register_module("dropout", torch::nn::Dropout2d(torch::nn::Dropout2dOptions(c.dropout)));
    // The Linears and linear_pred keep PyTorch's default init (afa.md §3.2).
    m_pred = register_module("linear_pred", torch::nn::Conv2d(torch::nn::Conv2dOptions(c.embedDim, c.numClasses, 1)));
}

torch::Tensor SegformerHeadImpl::forward(const std::vector<torch::Tensor> &features)
{
    if (features.size() != m_linears.size())
        throw Error("segformer head: expected " + std::to_string(m_linears.size()) + " stage maps, got " +
                    std::to_string(features.size()));
    for (std::size_t i = 0; i < features.size(); ++i)
        if (features[i].dim() != 4 || features[i].size(1) != m_config.inChannels[i])
            throw Error("segformer head: stage " + std::to_string(i + 1) + " map has shape " +
                        c10::str(features[i].sizes()) + ", expected [B, " +
                        std::to_string(m_config.inChannels[i]) + ", h, w]");

    const std::vector<int64_t> size{features[0].size(2), features[0].size(3)};
    std::vector<torch::Tensor> maps;
    // SegFormer concatenates the deepest stage first: [c4, c3, c2, c1].
    for (int i = static_cast<int>(features.size()) - 1; i >= 0; --i) {
        auto m = m_linears[i](features[i]);
        if (i > 0)
            m = F::interpolate(m, F::InterpolateFuncOptions().size(size).mode(torch::kBilinear).align_corners(false));
        maps.push_back(m);
    }
    return m_pred(m_dropout(m_fuse(torch::cat(maps, 1))));
}

} // namespace wsss::vision
