#pragma once
// UsageConfig: USAGE's settings (METHODS.md §6, methods/usage.md). USAGE released no code, so the
// defaults are the paper's values (τ₁ = 1, τ₂ = 0.1, λ = 0.25, EMA 0.99, teacher drop-path 0.05,
// student drop-path 0.05 → 0.15 and dropout 0 → 0.01) and, where the paper is silent, the
// readings usage.md marks [interp]; each of those is a named field here.
#include "training/methods/method.h"

#include <nlohmann/json.hpp>

#include <string>

namespace wsss::training {

struct UsageConfig {
    // ---- L_GEN (usage.md §4) ----
    double tau1 = 1.0;          // pooling temperature τ₁ (transformer 1, CNN 50), > 0
    double kappa = 0.0;         // [interp] the constant background logit ("a constant value"), finite
    bool detachAlpha = false;   // [interp] stop the gradient through α in the pooling weights
    // [interp, as MCTformer] dense features: the last block's tokens without the final LayerNorm
    // (false) or after it (true).
    bool finalNorm = false;
    // [interp] classifier: "conv1x1" (Eq. 2: 1×1, no bias) or "conv3x3" (MCTformer-V2: 3×3 with bias).
    std::string classifier = "conv1x1";

    // ---- L_REG (usage.md §5) ----
    bool regularizer = true;    // the teacher/student term (false: "w/o REG", Tab. 1)
    double tau2 = 0.1;          // distillation temperature τ₂, > 0
    double lambda = 0.25;       // weight λ of L_REG, ≥ 0
    // [interp] "kd": τ₂²·mean Σ_c −softmax(ẑ_T/τ₂)·log_softmax(ẑ_S/τ₂) (the distillation reading of
    // Eq. 9); "literal": τ₂²·mean Σ_c −α̃^{1/τ₂}·(1/τ₂)·log α (un-normalised powers, not recommended).
    std::string regForm = "kd";
    double emaMomentum = 0.99;  // teacher θ_T ← m·θ_T + (1 − m)·θ_S once per step, [0, 1)
    double teacherDropPath = 0.05; // γ_t, [0, 1)
    double teacherDropout = 0.0;   // [interp] δ_t (not given), [0, 1)
    double studentDropPathMin = 0.05, studentDropPathMax = 0.15; // γ_s range, [0, 1), min ≤ max
    double studentDropoutMin = 0.0, studentDropoutMax = 0.01;    // δ_s range, [0, 1), min ≤ max
    // [interp] gap schedule: "adaptive" (r = clamp(e_t, 0, 1), e_t the EMA of the classification
    // score), "linear" (r = step/total), "fixed" (r = 1). Rates = min + (max − min)·r.
    std::string schedule = "adaptive";
    double statusMomentum = 0.999; // [interp, FreeMatch] e_t = m·e_{t−1} + (1 − m)·c_t, [0, 1)
    double statusInit = -1.0;      // [interp] e_0; negative: 1/K (FreeMatch)
    // [interp] c_t = mean σ(s̃) over the GT-positive (image, class) pairs of the "teacher"'s or the
    // "student"'s scores.
    std::string statusSource = "teacher";

    // ---- seeds (usage.md §7.1) ----
    std::string seedWeights = "teacher"; // [interp] "teacher" (EMA, once it exists) or "student"
    bool flipInference = true;           // add the horizontally flipped pass
    // [interp] How the seed CAMs are scaled: "relu_min_max" (MCTformer's ReLU, then min-max: a
    // class that scores negative except at a few patches keeps only those) or "min_max" (no ReLU,
    // the class's relative evidence everywhere, as `cam` and ACR). README "Method notes".
    std::string camNormalization = "min_max";
    bool affinityRefine = true;          // also the "usage_affinity" kind: R·cam, R = Σ_blocks head-mean patch attention

    // ---- recipe ----
    double lr = 1e-3;               // heads; the backbone at lr × backboneLrScale
    double backboneLrScale = 0.1;
    double weightDecay = 0.05;      // AdamW (DeiT / MCTformer)

    static UsageConfig fromJson(const nlohmann::json &json);
    nlohmann::json toJson() const;
    void validate() const;
    // The schedule's r ∈ [0, 1] for a learning status e and a step of a run.
    double progress(double status, std::int64_t step, std::int64_t totalSteps) const;
    // The student's rates at progress r (clamped to [0, 1]).
    vision::DropRates studentRates(double r) const;
    vision::DropRates teacherRates() const { return {teacherDropPath, teacherDropout}; }
    TrainRecipe recipe() const;
};

} // namespace wsss::training
