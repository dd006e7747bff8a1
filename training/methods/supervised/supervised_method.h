#pragma once
// `supervised`: the same backbone with a segmentation head trained on the ground-truth masks.
// Not a WSSS method: the upper bound every WSSS method is compared with.
#include "training/methods/method.h"
#include "vision/heads/seg_head.h"

namespace wsss::training {

struct SupervisedConfig {
    int headChannels = 128; // width of the head's hidden 1×1 conv
    // Given the image's labels (a WSSS training set's pseudo-masks, the demo benchmark's val), the
    // classes it is not labelled with get probability 0: every weak method makes its maps for the
    // labelled classes only (a threshold over them, or AFA's, ViT-PCM's and ECA's argmax over
    // [background; labelled classes]), so the upper bound gets the same information. false: the
    // plain segmentation over every class, as on images without labels.
    bool restrictToLabels = true;

    nlohmann::json toJson() const;
    static SupervisedConfig fromJson(const nlohmann::json &json);
};


class SupervisedMethod : public Method {
public:
    explicit SupervisedMethod(const MethodSpec &spec);

    std::string name() const override { return "supervised"; }
    StepResult trainStep(const Batch &batch) override;
    MethodOutput infer(const torch::Tensor &image, bool captureAttention, const torch::Tensor &labels) override;
    std::string primaryMap() const override { return "seg"; }
    bool predictsBackground() const override { return true; }
    bool needsMasks() const override { return true; }
    nlohmann::json config() const override { return m_config.toJson(); }

    // Segmentation logits [B, K+1, H, W] at the input size.
    torch::Tensor segment(const torch::Tensor &features, std::int64_t height, std::int64_t width);

private:
    SupervisedConfig m_config;
    vision::SegHead m_head{nullptr};
};

} // namespace wsss::training
