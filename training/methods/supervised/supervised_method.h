#pragma once
// `supervised`: the same backbone with a segmentation head trained on the ground-truth masks.
// Not a WSSS method: the upper bound every WSSS method is compared with.
#include "training/methods/method.h"

#include <torch/nn/modules/batchnorm.h>
#include <torch/nn/modules/conv.h>

namespace wsss::training {

struct SupervisedConfig {
    int headChannels = 128; // width of the head's hidden 1×1 conv

    nlohmann::json toJson() const;
    static SupervisedConfig fromJson(const nlohmann::json &json);
};

// A light segmentation head on the patch features: 1×1 conv, BN, ReLU, 1×1 conv to K+1.
class SegHeadImpl : public torch::nn::Module {
public:
    SegHeadImpl(int inChannels, int hidden, int outChannels);
    torch::Tensor forward(const torch::Tensor &features);

private:
    torch::nn::Conv2d m_fuse{nullptr}, m_classifier{nullptr};
    torch::nn::BatchNorm2d m_norm{nullptr};
};
TORCH_MODULE(SegHead);

class SupervisedMethod : public Method {
public:
    explicit SupervisedMethod(const MethodSpec &spec);

    std::string name() const override { return "supervised"; }
    StepResult trainStep(const Batch &batch) override;
    MethodOutput infer(const torch::Tensor &image, bool captureAttention) override;
    std::string primaryMap() const override { return "seg"; }
    bool predictsBackground() const override { return true; }
    bool needsMasks() const override { return true; }
    nlohmann::json config() const override { return m_config.toJson(); }

    // Segmentation logits [B, K+1, H, W] at the input size.
    torch::Tensor segment(const torch::Tensor &features, std::int64_t height, std::int64_t width);

private:
    SupervisedConfig m_config;
    SegHead m_head{nullptr};
};

} // namespace wsss::training
