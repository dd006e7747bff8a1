#pragma once
// `acr`: All-pairs Consistency Regularization (Sun et al., ICCV-W 2023; methods/acr.md). A ViT
// with one class token whose pre-norm last-block CLS token feeds a linear classifier; trained
// on an image and its flip with the multilabel soft-margin loss plus L1 consistency of the
// class-to-patch and patch-to-patch attention of every block. Its maps are gradient maps: the
// gradient of a class logit with respect to the last blocks' attention, optionally refined by
// the summed patch-to-patch attention.
#include "training/methods/acr/acr_config.h"
#include "training/methods/method.h"
#include "vision/maps/affinity_refine.h"
#include "vision/maps/token_permutation.h"

#include <torch/nn/modules/linear.h>

namespace wsss::training {

class AcrMethod : public Method {
public:
    explicit AcrMethod(const MethodSpec &spec);

    std::string name() const override { return "acr"; }
    // Losses "cls" (both views' MLSM), "act" (α·L_act) and "aff" (β·L_aff); logs the unweighted
    // "l_act" and "l_aff".
    StepResult trainStep(const Batch &batch) override;
    // Maps "grad" (ACR*: gradient maps, no refinement) and "acr" (refined by the patch affinity),
    // for every class (the labels are not known here; inference.cpp's effectiveLabels picks),
    // flip pass + original summed, min-max per class. Enables gradients itself where it needs
    // them, so it works under the caller's NoGradGuard (not under InferenceMode). With
    // captureAttention, the original pass's attention of every block, from which the studio
    // reads the patch-to-patch affinity.
    MethodOutput infer(const torch::Tensor &image, bool captureAttention, const torch::Tensor &labels) override;
    std::string primaryMap() const override { return m_config.affinityRefine ? "acr" : "grad"; }
    nlohmann::json config() const override { return m_config.toJson(); }
    TrainRecipe recipe() const override { return m_config.recipe(); }
    // Backbone and head, every parameter with the recipe's weight decay (torch's SGD in one
    // group decays biases and norms too, as the official code does).
    std::vector<torch::optim::OptimizerParamGroup> parameterGroups(const TrainRecipe &recipe) override;

    const AcrConfig &acrConfig() const { return m_config; }
    // Class logits [B, K] from the backbone's pre-norm tokens [B, T, D] (class token 0).
    torch::Tensor logits(const torch::Tensor &preNormTokens);

    // One pass of the gradient maps on a batch of one image [1, 3, H, W]: per class the
    // gradient class-to-patch vector g_c and the patch affinity R, on the patch grid.
    struct GradientPass {
        torch::Tensor gradient;  // [K, h, w], ACR* before upsampling
        torch::Tensor affinity;  // [n, n], Σ over blocks of the head-mean patch-to-patch attention
        torch::Tensor logits;    // [K]
        vision::BackboneOutput captured; // attention (or queries/keys) of every block, if asked
    };
    GradientPass gradientPass(const torch::Tensor &image, const vision::CaptureRequest &inspect);

private:
    AcrConfig m_config;
    int m_gradLayers = 2; // resolved on the backbone's depth
    std::vector<vision::GridTransform> m_views;
    vision::AffinityProduct m_product;
    torch::nn::Linear m_head{nullptr};
};

} // namespace wsss::training
