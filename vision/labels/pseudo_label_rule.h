#pragma once
// PseudoLabelRule: how class maps become a pseudo-mask. A pure function of the maps, so the
// studio re-applies it on every slider move without going back to the model. The rule holds the
// background decision (one threshold, or AFA's β_l/β_h band with 255 = ignore) and the
// refinements that run on the maps before it; it is serialised with every export.
#include <nlohmann/json_fwd.hpp>
#include <torch/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace wsss::vision {

// How the background is decided from the best class score v of a pixel (METHODS.md §8.4).
enum class BackgroundRule {
    Threshold, // background where v ≤ bgThreshold (ties to background)
    Band,      // AFA Eq. 4: class where v > β_h, background where v ≤ β_l, 255 in between
};

std::string backgroundRuleName(BackgroundRule rule);          // "threshold" | "band"
BackgroundRule backgroundRuleFromName(const std::string &name); // wsss::Error on another name

struct PseudoLabelRule {
    float bgThreshold = 0.45f;                          // score in 0..1; AFA's single-threshold view 0.45
    BackgroundRule background = BackgroundRule::Threshold;
    float bandLow = 0.35f;                              // β_l, score in 0..1 (AFA 0.35)
    float bandHigh = 0.55f;                             // β_h, score in bandLow..1 (AFA 0.55)
    int parIterations = 0;                              // PAR on the maps before the rule; 0 = off (AFA 10)
    bool crf = false; // dense CRF (PSA parameters) on [bgThreshold; maps] per pixel after PAR; its argmax
                      // replaces the threshold or band (METHODS.md §8.3)

    void validate() const; // wsss::Error naming the field
    // Older exports hold only "bg_threshold" (and no "crf"); they read back with the other fields at their defaults.
    nlohmann::json toJson() const;
    static PseudoLabelRule fromJson(const nlohmann::json &json); // unknown keys are errors
};

// The planes of an image's labelled classes in a [numMaps, n] block (plane k = class k+1);
// labels outside 1..numMaps are skipped.
struct LabelledMaps {
    std::vector<const float *> maps;
    std::vector<int> classIds;
};
LabelledMaps labelledMaps(const float *maps, int numMaps, const std::vector<int> &labels, std::size_t n);

// Argmax over [t; maps], ties to background. maps: one pointer per candidate class, each n
// values; classIds: the label written for each map (1..K). out: n labels.
void applyBackgroundThreshold(const std::vector<const float *> &maps, const std::vector<int> &classIds,
                              std::size_t n, float threshold, std::uint8_t *out);

// Per pixel, the maximum over the maps and the class id that reaches it (first wins); for the
// threshold sweep. Pixels with no map get score 0 and class 0.
void maxAndArgmax(const std::vector<const float *> &maps, const std::vector<int> &classIds, std::size_t n,
                  float *maxScore, std::uint8_t *argmaxClass);

// The rule's background decision over the given candidate maps (threshold or band); no
// refinement. Same arguments as applyBackgroundThreshold.
void applyPseudoLabelRule(const PseudoLabelRule &rule, const std::vector<const float *> &maps,
                          const std::vector<int> &classIds, std::size_t n, std::uint8_t *out);

// maps [K, H, W] (plane k scores class classIds[k]) on any device → [H, W] uint8 labels on the
// same device. Only classes in `allowed` (the image's labelled classes) can win; background is
// always allowed. No refinement: see refineMaps.
torch::Tensor pseudoLabel(const PseudoLabelRule &rule, const torch::Tensor &maps, const std::vector<int> &classIds,
                          const std::vector<int> &allowed);

// The rule's refinements on maps [K, H, W] with their image [3, H, W] in [0, 1] (PAR when
// parIterations > 0, on the maps as given). Returns the maps unchanged when none is on.
torch::Tensor refineMaps(const PseudoLabelRule &rule, const torch::Tensor &image, const torch::Tensor &maps);

// The rule's dense CRF (`--crf` of refine and infer): the probabilities P = [bgThreshold; maps]
// normalised per pixel, PSA-CRF parameters (vision/refine/dense_crf.h). maps [K, H, W] on any
// device (usually after refineMaps), imageHW3 [H, W, 3] uint8 RGB → Q [1 + K, H, W] on maps'
// device, channel 0 = background.
torch::Tensor crfMarginals(const PseudoLabelRule &rule, const torch::Tensor &maps, const torch::Tensor &imageHW3);

// The labels of CRF marginals: argmax over q [1 + K, H, W] (ties to the lower channel), channel 0
// → 0 and channel k → classIds[k − 1] → [H, W] uint8 on q's device.
torch::Tensor labelsFromMarginals(const torch::Tensor &q, const std::vector<int> &classIds);

} // namespace wsss::vision
