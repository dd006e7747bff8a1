#pragma once
// The ResNetV2 stem of the R50+ViT hybrids (timm's vit_base_r50_s16_384, ACR's backbone):
// a 7×7 stride-2 conv, GroupNorm + ReLU and a 3×3 stride-2 max-pool, then stages of
// non-pre-activation bottlenecks. Every conv is weight-standardised and padded TF-"SAME"
// (asymmetric for even sizes), as the weights were trained. Modules carry timm's names
// (stem.conv, stages.N.blocks.M.conv1, ...downsample.norm) so its checkpoints load 1:1.
#include <torch/nn/module.h>
#include <torch/nn/modules/container/modulelist.h>
#include <torch/nn/modules/normalization.h>
#include <torch/nn/pimpl.h>

#include <string>
#include <vector>

namespace wsss::vision {

// How a weight-standardised conv normalises each filter.
enum class WeightStandardization {
    SqrtVarianceEps, // (w − mean) / √(var + eps): timm ≥ 0.5 (eps 1e-8 for the hybrids)
    StdPlusEps,      // (w − mean) / (std + eps): the timm 0.4.5 copy in ACR's code (eps 1e-5)
};

struct ResNetV2Config {
    int stemWidth = 64;                       // channels after the 7×7 stem conv
    std::vector<int> depths{3, 4, 9};         // bottlenecks per stage (R50 hybrid: 3, 4, 9)
    std::vector<int> widths{256, 512, 1024};  // output channels per stage; bottleneck width /4
    int groups = 32;                          // GroupNorm groups everywhere
    double normEps = 1e-5;                    // GroupNorm epsilon
    double stdConvEps = 1e-8;                 // weight-standardisation epsilon
    WeightStandardization standardization = WeightStandardization::SqrtVarianceEps;

    // Total stride: 4 from the stem, ×2 for every stage after the first.
    int stride() const { return 4 << (static_cast<int>(depths.size()) - 1); }
    int outChannels() const { return widths.back(); }
    // Throws wsss::Error naming `owner` (the backbone) and the field at fault.
    void validate(const std::string &owner) const;
};

// Conv2d with standardised weights and TF-"SAME" padding; no bias.
class StdConv2dSameImpl : public torch::nn::Module {
public:
    StdConv2dSameImpl(int in, int out, int kernel, int stride, const ResNetV2Config &config);
    torch::Tensor forward(const torch::Tensor &x);
    torch::Tensor standardizedWeight() const;

private:
    torch::Tensor m_weight;
    int m_stride;
    double m_eps;
    WeightStandardization m_form;
};
TORCH_MODULE(StdConv2dSame);

// Non-pre-activation bottleneck: relu(norm3(conv3(relu(norm2(conv2(relu(norm1(conv1 x))))))) + shortcut);
// the stride sits on the 3×3 conv2, the shortcut is a 1×1 conv + norm when the shape changes.
class ResNetBottleneckImpl : public torch::nn::Module {
public:
    ResNetBottleneckImpl(int in, int out, int stride, const ResNetV2Config &config);
    torch::Tensor forward(const torch::Tensor &x);

private:
    StdConv2dSame m_conv1{nullptr}, m_conv2{nullptr}, m_conv3{nullptr}, m_downConv{nullptr};
    torch::nn::GroupNorm m_norm1{nullptr}, m_norm2{nullptr}, m_norm3{nullptr}, m_downNorm{nullptr};
};
TORCH_MODULE(ResNetBottleneck);

// x: [B, 3, H, W] → [B, widths.back(), ⌈H/stride⌉, ⌈W/stride⌉].
class ResNetV2StemImpl : public torch::nn::Module {
public:
    explicit ResNetV2StemImpl(const ResNetV2Config &config);
    torch::Tensor forward(const torch::Tensor &x);

private:
    StdConv2dSame m_stemConv{nullptr};
    torch::nn::GroupNorm m_stemNorm{nullptr};
    torch::nn::ModuleList m_stages{nullptr};
    std::vector<ResNetBottleneck> m_blocks; // all stages' blocks in order (registered under stages)
};
TORCH_MODULE(ResNetV2Stem);

} // namespace wsss::vision
