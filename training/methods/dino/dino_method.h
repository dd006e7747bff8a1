#pragma once
// `dino`: DINO self-distillation (Caron et al., ICCV 2021; dino/main_dino.py) of a ViT on a
// dataset's images, labels unused: trains the frozen guider ECA reads its key affinities from
// (methods/eca.md Appendix D) where no DINO weights of the user's domain exist.
//
// Two ViTs of the same preset. The TEACHER is the method's backbone (keys backbone.*, its head
// teacher_head.*), as DINO's released weights are the teacher's, so a guider loader reading
// backbone.* gets it. The student (keys student.*, student_head.*) is the only part the
// optimiser holds; the teacher's parameters have requires_grad false and follow the student by
// an EMA whose momentum goes from momentumTeacher to 1 on a cosine over the run. Buffers:
// center (DINOLoss.center, [1, K]) and teacher_ready, both in the checkpoint, so --resume
// continues with them.
//
// The trainer has no after-step hook, so trainStep first applies the EMA of the previous
// optimiser step. Its first call instead copies the teacher into the student, so both start
// from the weights the run loaded into the backbone (or the teacher's random init). The
// checkpoint saved after a run's last step therefore holds a teacher one EMA update behind.
//
// Views: 2 global crops at the input size and localCrops local ones, made inside trainStep from
// the batch by tensor ops (random resized crop and flip through one affine grid_sample per view,
// colour jitter, grayscale, blur, solarisation on de-normalised pixels).
//
// infer(): the teacher's last-block CLS attention over the patches (mean over heads, upsampled,
// min-max), the map kind "dino" copied to every present class (all classes when the labels are
// unknown). There is no classifier: the scores are zeros, so label-free pseudo-masks need labels.
#include "training/methods/dino/dino_config.h"
#include "training/methods/method.h"

#include <torch/nn/module.h>
#include <torch/nn/modules/container/sequential.h>
#include <torch/nn/pimpl.h>

#include <vector>

namespace wsss::training {

// main_dino's DINOHead (nlayers 3): mlp (Linear-GELU-Linear-GELU-Linear to the bottleneck),
// L2 normalisation, then a bias-free weight-normalised linear to K prototypes (keys
// mlp.{0,2,4}.*, last_layer.weight_g [K, 1], last_layer.weight_v [K, bottleneck], as DINO's).
class DinoHeadImpl : public torch::nn::Module {
public:
    DinoHeadImpl(int inDim, const DinoConfig &config);
    // x: [N, inDim] → [N, K]. freezeLastLayer: the last layer takes no gradient.
    torch::Tensor forward(const torch::Tensor &x, bool freezeLastLayer = false);
    // The effective last-layer weight g·v/‖v‖ (per prototype row), [K, bottleneck].
    torch::Tensor lastLayerWeight() const;

private:
    torch::nn::Sequential m_mlp{nullptr};
    std::shared_ptr<torch::nn::Module> m_lastLayer;
    torch::Tensor m_weightG, m_weightV;
};
TORCH_MODULE(DinoHead);

// The views of one step from a normalised batch [B, 3, H, W]: the 2 global crops ([B, 3, H, W]
// each), then the local ones ([B, 3, h, w], h and w config.localSize of H and W), normalised with
// `norm`. Random numbers from torch's generator.
std::vector<torch::Tensor> dinoViews(const torch::Tensor &images, const vision::Normalization &norm,
                                     const DinoConfig &config, int patch);

class DinoMethod : public Method {
public:
    explicit DinoMethod(const MethodSpec &spec);

    std::string name() const override { return "dino"; }
    StepResult trainStep(const Batch &batch) override;
    MethodOutput infer(const torch::Tensor &image, bool captureAttention, const torch::Tensor &labels) override;
    std::string primaryMap() const override { return "dino"; }
    nlohmann::json config() const override { return m_config.toJson(); }
    TrainRecipe recipe() const override { return m_config.recipe(); }
    // The student's parameters only (DINO's get_params_groups: no weight decay on biases and
    // norms); the student ViT at lr × backboneLrScale, its head at lr.
    std::vector<torch::optim::OptimizerParamGroup> parameterGroups(const TrainRecipe &recipe) override;

    // Head outputs [N, K] of the student or the teacher for views of one size (CLS token after
    // the final norm through the head).
    torch::Tensor project(const torch::Tensor &views, bool teacher, bool freezeLastLayer = false);
    // The teacher update before step `step` of `totalSteps`: the first call copies the teacher
    // into the student; later ones emaUpdate(momentumAt(step − 1)).
    void updateTeacher(std::int64_t step, std::int64_t totalSteps);
    // teacher ← m·teacher + (1 − m)·student, parameters of ViT and head; buffers copied.
    void emaUpdate(double momentum);
    bool teacherReady() const { return m_teacherReady.item<float>() > 0.5f; }

    const DinoConfig &settings() const { return m_config; }
    const torch::Tensor &center() const { return m_center; }
    vision::Backbone &student() { return *m_student; }
    DinoHead &studentHead() { return m_studentHead; }
    DinoHead &teacherHead() { return m_teacherHead; }

private:
    DinoConfig m_config;
    int m_classes = 0;
    DinoHead m_teacherHead{nullptr}, m_studentHead{nullptr};
    std::shared_ptr<vision::Backbone> m_student;
    torch::Tensor m_center;       // [1, K]
    torch::Tensor m_teacherReady; // [1]: 0 until the first updateTeacher()
};

} // namespace wsss::training
