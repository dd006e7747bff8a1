#pragma once
// DinoConfig: DINO self-distillation pretraining (Caron et al., ICCV 2021) of a ViT on a dataset's
// images, labels unused: the guider ECA needs (methods/eca.md Appendix D). Every default cites
// dino/main_dino.py ("main_dino") or says how and why it is scaled for the studio's small images
// and few-hundred-step runs. Presets: the default ("official") is that scaled recipe;
// `"preset": "paper"` sets main_dino.py's own values (65 536 prototypes, 8 local crops, ...).
#include "training/methods/method.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>

namespace wsss::training {

struct DinoConfig {
    std::string preset = "official";

    // ---- DINOHead (main_dino: nlayers 3, Linear-GELU-Linear-GELU-Linear, L2, weight-normed last) ----
    // Prototypes K (main_dino 65 536). 4096: the DINO paper's ablation of K still trains well at
    // 4096, and a dataset of a few hundred images cannot fill 65 536 prototypes; the last layer
    // shrinks from 16.8 M to 1 M weights per head. ≥ 2.
    int outDim = 4096;
    int hiddenDim = 512;        // MLP width (main_dino 2048, scaled with the demo ViT's 192 width), ≥ 1
    int bottleneckDim = 256;    // bottleneck before the L2 norm (main_dino 256), ≥ 1
    // main_dino norm_last_layer True: the last layer's weight_g stays 1 (each prototype a unit
    // vector), which the paper reports as more stable; false trains weight_g too.
    bool normLastLayer = true;

    // ---- DINOLoss ----
    double teacherTemp = 0.04;        // τ_t after the warm-up (main_dino 0.04), > 0
    double warmupTeacherTemp = 0.04;  // τ_t at step 0, linear to teacherTemp (main_dino 0.04), > 0
    double warmupTeacherTempFraction = 0.0; // fraction of the run of that warm-up (main_dino 0 epochs), [0, 1]
    double studentTemp = 0.1;         // τ_s (main_dino 0.1), > 0
    double centerMomentum = 0.9;      // c ← m·c + (1 − m)·mean(teacher outputs) (main_dino 0.9), [0, 1)

    // ---- teacher ----
    // EMA momentum at step 0, cosine to 1 at the end of the run (main_dino momentum_teacher 0.996), [0, 1].
    double momentumTeacher = 0.996;

    // ---- multi-crop (main_dino DataAugmentationDINO), produced from the batch by tensor ops ----
    // Two global crops at the input size, area fraction in [globalScaleMin, globalScaleMax] (0.4, 1).
    double globalScaleMin = 0.4, globalScaleMax = 1.0;
    // Local crops (main_dino 8): 4 keeps a step of the demo at about half the cost with the
    // multi-crop's local-to-global term intact. ≥ 0.
    int localCrops = 4;
    double localScaleMin = 0.05, localScaleMax = 0.4; // their area fraction (0.05, 0.4)
    // A local crop's side / the input side (main_dino 96/224), rounded to the patch size, at least one patch.
    double localSizeFraction = 96.0 / 224.0;
    double flipProbability = 0.5;   // horizontal flip per view (main_dino 0.5), [0, 1]
    // ColorJitter(0.4, 0.4, 0.2, 0.1) with p 0.8 (main_dino), per image and view.
    double jitterProbability = 0.8;
    double brightness = 0.4, contrast = 0.4, saturation = 0.2; // factor ∈ [1 − x, 1 + x], [0, 1]
    double hue = 0.1;               // hue shift ∈ [−x, x] of a turn, [0, 0.5]
    double grayscaleProbability = 0.2; // (main_dino 0.2), [0, 1]
    // Gaussian blur with p 1.0 / 0.1 / 0.5 on global 1 / global 2 / locals, σ ∈ [0.1, 2] px at 224 px,
    // scaled with the input side (main_dino).
    bool blur = true;
    bool solarize = true;           // solarisation p 0.2 on the second global view (main_dino)

    // ---- student and recipe ----
    double dropPath = 0.1;          // student drop-path rate (main_dino 0.1), [0, 1)
    // AdamW peak lr. main_dino: 5e-4 × batch/256, which at the studio's batch 8 is 1.6e-5 and
    // moves a few hundred steps nowhere; the unscaled 5e-4 trains the demo ViT. > 0
    double lr = 5e-4;
    double backboneLrScale = 1.0;   // the student ViT's lr / the head's (main_dino: one lr), ≥ 0
    // main_dino weight decay 0.04 → 0.4 (cosine); the studio's recipe has one value, the start's. ≥ 0
    double weightDecay = 0.04;
    double warmupFraction = 0.1;    // linear lr warm-up (main_dino 10 of 100 epochs), [0, 1]
    // The student head's last layer gets no gradient for this fraction of the run (main_dino
    // freeze_last_layer 1 of 100 epochs), [0, 1].
    double freezeLastLayerFraction = 0.01;
    // Not carried over from main_dino: gradient clipping at norm 3.0 (the trainer has no hook
    // between backward and the optimiser step) and fp16 training.

    static DinoConfig official() { return {}; }
    static DinoConfig paper();
    static DinoConfig fromJson(const nlohmann::json &json);
    nlohmann::json toJson() const;
    void validate() const;

    // τ_t at a step of the run.
    double teacherTempAt(std::int64_t step, std::int64_t totalSteps) const;
    // The EMA momentum of the update after optimiser step `step`: cosine from momentumTeacher to 1.
    double momentumAt(std::int64_t step, std::int64_t totalSteps) const;
    bool lastLayerFrozenAt(std::int64_t step, std::int64_t totalSteps) const;
    // A local crop's side for an input side and a patch size.
    std::int64_t localSize(std::int64_t inputSide, int patch) const;
    // AdamW with weight decay, the studio's warm-up + poly schedule for main_dino's warm-up + cosine.
    TrainRecipe recipe() const;
};

} // namespace wsss::training
