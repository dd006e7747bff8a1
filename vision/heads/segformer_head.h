#pragma once
// SegFormer's all-MLP decoder head: each stage map goes through a per-token Linear to the
// embedding width, is upsampled to the stage-1 size, the four are concatenated in the order
// [c4, c3, c2, c1], fused by a 1×1 conv (no bias) + BatchNorm + ReLU, then Dropout2d and a 1×1
// classifier. AFA and ECA use it unchanged (embedding 256, Dropout2d 0.1; afa.md §3.2). Modules
// are registered under the official names (linear_c1.proj, linear_fuse.conv, linear_fuse.bn,
// linear_pred), AFA's decoder.* keys minus the prefix.
#include <torch/nn/module.h>
#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>
#include <torch/nn/modules/dropout.h>
#include <torch/nn/modules/linear.h>
#include <torch/nn/pimpl.h>

#include <array>
#include <vector>

namespace wsss::vision {

struct SegformerHeadConfig {
    std::array<int, 4> inChannels{64, 128, 320, 512}; // stage widths of the encoder (MiT-B1)
    int embedDim = 256;     // per-stage projection and fused width (AFA, ECA: 256)
    int numClasses = 21;    // output channels, background included (VOC: 21)
    double dropout = 0.1;   // Dropout2d probability before the classifier (SegFormer: 0.1)
    double bnEps = 1e-5;    // BatchNorm of the fuse conv (PyTorch default)
    double bnMomentum = 0.1;

    void validate() const;
};

// The per-token Linear of one stage (a module so its key is linear_c{i}.proj).
class SegformerMlpImpl : public torch::nn::Module {
public:
    SegformerMlpImpl(int in, int embedDim);
    // x: [B, C, h, w] → [B, E, h, w].
    torch::Tensor forward(const torch::Tensor &x);

private:
    torch::nn::Linear m_proj{nullptr};
};
TORCH_MODULE(SegformerMlp);

// 1×1 conv without bias, BatchNorm, ReLU (mmcv's ConvModule as the head uses it).
class ConvBnReluImpl : public torch::nn::Module {
public:
    ConvBnReluImpl(int in, int out, double bnEps, double bnMomentum);
    torch::Tensor forward(const torch::Tensor &x);

private:
    torch::nn::Conv2d m_conv{nullptr};
    torch::nn::BatchNorm2d m_bn{nullptr};
};
TORCH_MODULE(ConvBnRelu);

class SegformerHeadImpl : public torch::nn::Module {
public:
    explicit SegformerHeadImpl(SegformerHeadConfig config);

    // features: the 4 stage maps [B, C_i, H_i, W_i] → logits [B, classes, H_1, W_1].
    torch::Tensor forward(const std::vector<torch::Tensor> &features);

    const SegformerHeadConfig &config() const { return m_config; }

private:
    SegformerHeadConfig m_config;
    std::vector<SegformerMlp> m_linears;
    ConvBnRelu m_fuse{nullptr};
    torch::nn::Dropout2d m_dropout{nullptr};
    torch::nn::Conv2d m_pred{nullptr};
};
TORCH_MODULE(SegformerHead);

} // namespace wsss::vision
