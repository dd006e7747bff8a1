#pragma once
// `usage`: USAGE (Peng et al., ICCV 2023; METHODS.md §6, methods/usage.md). A ViT's patch
// features → a bias-free 1×1 classifier → activations z [B, K, h, w]; the image score pools z
// with the temperature-controlled spatial activation distribution α (softmax over K classes + a
// constant background channel), trained with the multilabel soft-margin loss (L_GEN). A teacher
// — the EMA of the student, never trained by the optimiser — and the student see the same batch
// with different drop-path / dropout rates, the student's growing with the EMA of the
// classification score; L_REG pulls the student's per-location class distribution toward the
// teacher's sharpened one. Seeds: ReLU(z) of the teacher, optionally refined by the summed
// patch-to-patch attention (MCTformer). No official code: see UsageConfig's [interp] fields.
//
// Teacher rules: its parameters (keys teacher_backbone.*, teacher_classifier.*) have
// requires_grad false, so Method::parameterGroups leaves them out, and they are saved and
// loaded with the checkpoint. The trainer has no after-step hook, so trainStep first applies the
// EMA for the previous optimiser step (the first call copies the student: the teacher then starts
// from the loaded pre-trained weights); the buffer teacher_ready records it.
#include "training/methods/method.h"
#include "training/methods/usage/usage_config.h"
#include "training/methods/usage/usage_losses.h"

#include <torch/nn/modules/conv.h>

namespace wsss::training {

class UsageMethod : public Method {
public:
    explicit UsageMethod(const MethodSpec &spec);

    std::string name() const override { return "usage"; }
    StepResult trainStep(const Batch &batch) override;
    MethodOutput infer(const torch::Tensor &image, bool captureAttention, const torch::Tensor &labels) override;
    // The patch affinity (every block's attention, both passes) only for `usage_affinity`.
    MethodOutput inferMaps(const torch::Tensor &image, const torch::Tensor &labels,
                           const std::set<std::string> &kinds) override;
    std::string primaryMap() const override { return "usage"; }
    nlohmann::json config() const override { return m_config.toJson(); }
    TrainRecipe recipe() const override { return m_config.recipe(); }

    // Activations z [B, K, h, w] of the student (teacher = false) or the teacher, with the given
    // rates (train mode only) and capture.
    torch::Tensor activations(const torch::Tensor &images, bool teacher, const vision::DropRates &rates = {});
    // The EMA step: the first call copies the student into the teacher; later ones move every
    // teacher tensor by (1 − m) toward the student's.
    void updateTeacher();
    bool teacherReady() const { return m_teacherReady.item<float>() > 0.5f; }
    // The learning status e_t (usage.md §5.2).
    double status() const { return m_status.item<double>(); }
    const UsageConfig &settings() const { return m_config; }
    vision::Backbone &teacherBackbone() { return *m_teacherBackbone; }
    torch::nn::Conv2d &classifier() { return m_classifier; }
    torch::nn::Conv2d &teacherClassifier() { return m_teacherClassifier; }

private:
    torch::Tensor features(const vision::BackboneOutput &out) const;
    // One pass at the patch grid: {z, refined, R}: the raw activations z and, when refining,
    // R·ReLU(z) with the patch affinity R.
    std::tuple<torch::Tensor, torch::Tensor, torch::Tensor> seedPass(const torch::Tensor &image, bool teacher,
                                                                     bool captureAttention, MethodOutput *result,
                                                                     bool refine);
    // infer(); with `only`, just those maps (inferMaps).
    MethodOutput inferUsage(const torch::Tensor &image, bool captureAttention, const torch::Tensor &labels,
                            const std::set<std::string> *only);

    UsageConfig m_config;
    int m_classes = 0;
    torch::nn::Conv2d m_classifier{nullptr};
    std::shared_ptr<vision::Backbone> m_teacherBackbone;
    torch::nn::Conv2d m_teacherClassifier{nullptr};
    torch::Tensor m_teacherReady; // [1]: 0 until the first updateTeacher()
    torch::Tensor m_status;       // [1]: e_t
};

} // namespace wsss::training
