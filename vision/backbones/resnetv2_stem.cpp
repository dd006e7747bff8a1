#include "vision/backbones/resnetv2_stem.h"

#include "vision/backbones/backbone.h"
#include "vision/core/error.h"

#include <torch/nn/functional/padding.h>
#include <torch/nn/functional/pooling.h>
#include <torch/nn/functional/conv.h>
#include <torch/nn/init.h>

#include <limits>

namespace wsss::vision {

namespace F = torch::nn::functional;

void ResNetV2Config::validate(const std::string &owner) const
{
    auto fail = [&](const std::string &what) { throw Error("backbone \"" + owner + "\": ResNetV2 stem " + what); };
    if (depths.empty() || depths.size() != widths.size())
        fail("needs one width per stage (" + std::to_string(depths.size()) + " depths, " +
             std::to_string(widths.size()) + " widths)");
    if (stemWidth <= 0 || groups <= 0 || stemWidth % groups != 0)
        fail("width " + std::to_string(stemWidth) + " is not a positive multiple of groups " + std::to_string(groups));
    for (std::size_t i = 0; i < depths.size(); ++i) {
        if (depths[i] <= 0)
            fail("stage " + std::to_string(i) + " depth " + std::to_string(depths[i]) + " must be positive");
        if (widths[i] <= 0 || widths[i] % 4 != 0 || (widths[i] / 4) % groups != 0)
            fail("stage " + std::to_string(i) + " width " + std::to_string(widths[i]) +
                 " must be 4× a multiple of groups " + std::to_string(groups));
    }
}

namespace {

// TensorFlow "SAME" padding: output ⌈i/s⌉, the odd pixel of padding goes right/bottom.
torch::Tensor padSame(const torch::Tensor &x, int kernel, int stride, double value = 0.0)
{
    auto pad = [&](std::int64_t i) {
        const std::int64_t out = (i + stride - 1) / stride;
        return std::max<std::int64_t>((out - 1) * stride + kernel - i, 0);
    };
    const auto ph = pad(x.size(2)), pw = pad(x.size(3));
    if (ph == 0 && pw == 0)
        return x;
    return F::pad(x, F::PadFuncOptions({pw / 2, pw - pw / 2, ph / 2, ph - ph / 2}).value(value));
}

torch::nn::GroupNorm groupNorm(int channels, const ResNetV2Config &c)
{
    return torch::nn::GroupNorm(torch::nn::GroupNormOptions(c.groups, channels).eps(c.normEps));
}

} // namespace

// --- Weight-standardised conv -------------------------------------------------------------

StdConv2dSameImpl::StdConv2dSameImpl(int in, int out, int kernel, int stride, const ResNetV2Config &c)
    : m_stride(stride), m_eps(c.stdConvEps), m_form(c.standardization)
{
    m_weight = register_parameter("weight", torch::empty({out, in, kernel, kernel}));
    torch::nn::init::kaiming_normal_(m_weight, 0.0, torch::kFanOut, torch::kReLU);
}

torch::Tensor StdConv2dSameImpl::standardizedWeight() const
{
    auto flat = m_weight.reshape({m_weight.size(0), -1});
    auto mean = flat.mean(1, true);
    auto var = flat.var(1, /*unbiased=*/false, true); // population variance over in×kh×kw
    auto scale = m_form == WeightStandardization::SqrtVarianceEps ? torch::sqrt(var + m_eps) : torch::sqrt(var) + m_eps;
    return ((flat - mean) / scale).reshape_as(m_weight);
}

torch::Tensor StdConv2dSameImpl::forward(const torch::Tensor &x)
{
    const int kernel = static_cast<int>(m_weight.size(2));
    return F::conv2d(padSame(x, kernel, m_stride), standardizedWeight(), F::Conv2dFuncOptions().stride(m_stride));
}

// --- Bottleneck ---------------------------------------------------------------------------

ResNetBottleneckImpl::ResNetBottleneckImpl(int in, int out, int stride, const ResNetV2Config &c)
{
    const int mid = out / 4;
    if (in != out || stride != 1) {
        auto downsample = register_module("downsample", std::make_shared<torch::nn::Module>());
        m_downConv = downsample->register_module("conv", StdConv2dSame(in, out, 1, stride, c));
        m_downNorm = downsample->register_module("norm", groupNorm(out, c));
    }
    m_conv1 = register_module("conv1", StdConv2dSame(in, mid, 1, 1, c));
    m_norm1 = register_module("norm1", groupNorm(mid, c));
    m_conv2 = register_module("conv2", StdConv2dSame(mid, mid, 3, stride, c));
    m_norm2 = register_module("norm2", groupNorm(mid, c));
    m_conv3 = register_module("conv3", StdConv2dSame(mid, out, 1, 1, c));
    m_norm3 = register_module("norm3", groupNorm(out, c));
}

torch::Tensor ResNetBottleneckImpl::forward(const torch::Tensor &x)
{
    auto shortcut = m_downConv ? m_downNorm(m_downConv(x)) : x;
    auto y = torch::relu(m_norm1(inFloat(m_conv1(x))));
    y = torch::relu(m_norm2(inFloat(m_conv2(y))));
    y = m_norm3(inFloat(m_conv3(y)));
    return torch::relu(y + shortcut);
}

// --- Stem + stages ------------------------------------------------------------------------

ResNetV2StemImpl::ResNetV2StemImpl(const ResNetV2Config &c)
{
    auto stem = register_module("stem", std::make_shared<torch::nn::Module>());
    m_stemConv = stem->register_module("conv", StdConv2dSame(3, c.stemWidth, 7, 2, c));
    m_stemNorm = stem->register_module("norm", groupNorm(c.stemWidth, c));
    m_stages = register_module("stages", torch::nn::ModuleList());
    int in = c.stemWidth;
    for (std::size_t s = 0; s < c.depths.size(); ++s) {
        auto stage = std::make_shared<torch::nn::Module>();
        auto blocks = stage->register_module("blocks", torch::nn::ModuleList());
        for (int b = 0; b < c.depths[s]; ++b) {
            const int stride = (s > 0 && b == 0) ? 2 : 1;
            ResNetBottleneck block(in, c.widths[s], stride, c);
            blocks->push_back(block);
            m_blocks.push_back(block);
            in = c.widths[s];
        }
        m_stages->push_back(stage);
    }
}

torch::Tensor ResNetV2StemImpl::forward(const torch::Tensor &x)
{
    auto y = torch::relu(m_stemNorm(inFloat(m_stemConv(x))));
    // Max-pool with "SAME" padding: padded cells are −∞ so they never win.
    y = F::max_pool2d(padSame(y, 3, 2, -std::numeric_limits<double>::infinity()), F::MaxPool2dFuncOptions(3).stride(2));
    for (auto &block : m_blocks)
        y = block(y);
    return y;
}

} // namespace wsss::vision
