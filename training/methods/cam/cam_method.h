#pragma once
// `cam`: the baseline every WSSS method is compared with. A bias-free 1×1 classifier on the ViT
// patch features gives one score map per class (the CAM); its global pooling is the class logit,
// trained with the multilabel soft-margin loss.
#include "training/methods/method.h"
#include "vision/maps/cam.h"

#include <torch/nn/modules/conv.h>

namespace wsss::training {

struct CamConfig {
    // gap | gmp | topk: how each class map becomes its logit. GAP (Zhou et al.'s CAM, the
    // baseline of ACR's and most CNN papers) learns on the demo where GMP (AFA's Table 1
    // transformer baseline) stays near the label prior; `--set pooling=gmp` for AFA's.
    std::string pooling = "gap";
    double topkFraction = 0.25;   // fraction of patches averaged by topk pooling, (0, 1]
    bool flipInference = true;    // add the horizontally flipped pass to the maps at inference
    // Input scales whose maps are summed at inference (each brought back to the image's size,
    // with its flipped pass when flip_inference): [1] is one scale; [1, 0.5, 1.5] is AFA's
    // multi_scale_cam and IRN's seeds' test-time scales (a 1.5× input puts a finer patch grid on
    // the image). Sides are rounded to the backbone's multiple.
    std::vector<double> inferenceScales{1.0};

    nlohmann::json toJson() const;
    static CamConfig fromJson(const nlohmann::json &json);
};

class CamMethod : public Method {
public:
    explicit CamMethod(const MethodSpec &spec);

    std::string name() const override { return "cam"; }
    StepResult trainStep(const Batch &batch) override;
    MethodOutput infer(const torch::Tensor &image, bool captureAttention, const torch::Tensor &labels) override;
    std::string primaryMap() const override { return "cam"; }
    nlohmann::json config() const override { return m_config.toJson(); }

    // Class logits [B, K] from patch features [B, D, h, w].
    torch::Tensor logits(const torch::Tensor &features);

private:
    CamConfig m_config;
    vision::Pooling m_pooling;
    torch::nn::Conv2d m_classifier{nullptr};
};

// Multilabel soft-margin loss: mean over classes and batch of BCE on logits.
torch::Tensor multilabelSoftMarginLoss(const torch::Tensor &logits, const torch::Tensor &labels);

} // namespace wsss::training
