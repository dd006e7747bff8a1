#pragma once
// `eca`: Exploiting Class-aware Affinity (ACM MM 2024; METHODS.md §5, methods/eca.md). AFA's
// network and CAM labels, plus SAE: a frozen guider ViT (DINO) spreads each class's confident CAM
// patches over its last block's key graph into class-aware affinity region maps (CARMs),
// calibrated by momentum class prototypes and refined by PAR into a second label that supervises
// the decoder and the affinity head; and CCE, a correspondence loss on two local crops. The
// staged schedule of the official code is scaled to the run's length.
#include "training/methods/afa/afa_method.h"
#include "training/methods/eca/eca_config.h"
#include "training/methods/eca/eca_guider.h"

namespace wsss::training {

class EcaMethod : public AfaMethod {
public:
    explicit EcaMethod(const MethodSpec &spec);

    std::string name() const override { return "eca"; }
    StepResult trainStep(const Batch &batch) override;
    // AFA's maps (cam, aff, seg) and affinities, plus "carm" (calibrated, PAR-refined, with its
    // background: the CARM label is their argmax), "carm_raw" (fused over the guider's scales,
    // before calibration), "carm_calibrated" (before PAR, with its background), "guider_cue" (the class query's cosine with each patch key, mapped to
    // [0, 1] and shown for every class) and the affinity "guider" (the key graph at scale 1).
    MethodOutput infer(const torch::Tensor &image, bool captureAttention, const torch::Tensor &labels) override;
    // ECA's own maps need AFA's CAMs only, not its walk or segmentation; PAR only for `carm`.
    MethodOutput inferMaps(const torch::Tensor &image, const torch::Tensor &labels,
                           const std::set<std::string> &kinds) override;
    std::string primaryMap() const override { return "carm"; }
    bool predictsBackground() const override { return true; }
    nlohmann::json config() const override;
    TrainRecipe recipe() const override;
    // AFA's groups; the guider is frozen and in none.
    std::vector<torch::optim::OptimizerParamGroup> parameterGroups(const TrainRecipe &recipe) override;
    // Reads the guider file the config names (DINO weights or a checkpoint's backbone).
    std::vector<std::string> loadAuxiliaryWeights() override;
    std::vector<std::string> auxiliaryWeightKeys() const override { return {"guider"}; }
    std::vector<std::string> startProblems() const override;

    // SAE on a batch (eca.md §7): image [B, 3, H, W] in [0, 1]; cams [B, K, H, W] in [0, 1] (every
    // class); labels [B, K] (the classes SAE spreads); box [B, H, W] bool or undefined; features
    // [B, D, h, w] (the prototypes' space). `updateBank` false leaves the prototypes as they are.
    struct ClassAwareMaps {
        torch::Tensor raw;        // [B, 1 + K, g, g] fused over the scales, background clamped
        torch::Tensor calibrated; // the same after the prototypes' calibration
        torch::Tensor affinity;   // [B, N, N] the scale-1 key graph (N = gridH·gridW)
        torch::Tensor cue;        // [B, N] the class query's cosine with each patch key
        std::int64_t gridH = 0, gridW = 0;
    };
    ClassAwareMaps classAwareMaps(const torch::Tensor &image, const torch::Tensor &cams, const torch::Tensor &labels,
                                  const torch::Tensor &box, const torch::Tensor &features, bool updateBank);

    // The classes present in label maps [B, H, W] (1..K; 0 and 255 are not classes) → [B, K] float.
    static torch::Tensor classesIn(const torch::Tensor &labelMaps, std::int64_t numClasses);

    Guider &guider() { return m_guider; }
    const torch::Tensor &prototypes() const { return m_prototypes; }

private:
    EcaMethod(const MethodSpec &spec, EcaConfig config); // the config resolved once
    // infer(); with `only`, just those maps (inferMaps).
    MethodOutput inferEca(const torch::Tensor &image, bool captureAttention, const torch::Tensor &labels,
                          const std::set<std::string> *only);

    EcaConfig m_eca;
    std::int64_t m_numClasses;
    Guider m_guider{nullptr};
    // The momentum bank [K, D]. The official code keeps it outside the model; here it is a buffer,
    // so a checkpoint reloads into the same calibration the run ended with.
    torch::Tensor m_prototypes;
};

} // namespace wsss::training
