#pragma once
// A light segmentation head on a feature map (the supervised upper bound's, and AFA's on a ViT,
// where SegFormer's four-stage decoder has a single stage to read).
#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/types.h>

namespace wsss::vision {

// 1×1 conv (no bias), BN, ReLU, 1×1 conv to outChannels: [B, C, h, w] → [B, out, h, w].
class SegHeadImpl : public torch::nn::Module {
public:
    SegHeadImpl(int inChannels, int hidden, int outChannels);
    torch::Tensor forward(const torch::Tensor &features);

private:
    torch::nn::Conv2d m_fuse{nullptr}, m_classifier{nullptr};
    torch::nn::BatchNorm2d m_norm{nullptr};
};
TORCH_MODULE(SegHead);

} // namespace wsss::vision
