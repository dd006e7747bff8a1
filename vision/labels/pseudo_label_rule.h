#pragma once
// PseudoLabelRule: how class maps become a pseudo-mask. A pure function of the maps, so the
// studio re-applies it on every slider move without going back to the model. The rule holds the
// background decision (one threshold, or AFA's β_l/β_h band with 255 = ignore) and the
// refinements that run on the maps before it; it is serialised with every export. This header is
// LibTorch-free (the studio includes it); the tensor side is vision/labels/pseudo_label_maps.h.
#include <nlohmann/json_fwd.hpp>

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

// The background threshold every method and the studio start from: the CAM papers' 0.45
// (METHODS.md, common.md §3.6; AFA's single-threshold view of its band).
inline constexpr float kDefaultBgThreshold = 0.45f;

struct PseudoLabelRule {
    float bgThreshold = kDefaultBgThreshold;            // score in 0..1
    BackgroundRule background = BackgroundRule::Threshold;
    float bandLow = 0.35f;                              // β_l, score in 0..1 (AFA 0.35)
    float bandHigh = 0.55f;                             // β_h, score in bandLow..1 (AFA 0.55)
    int parIterations = 0;                              // PAR on the maps before the rule; 0 = off (AFA 10)
    bool crf = false; // dense CRF on [bgThreshold; maps] per pixel after PAR; its argmax replaces the
                      // threshold or band (METHODS.md §8.3)
    // The CRF's parameters: a row of METHODS.md §8.3 (vision/refine/dense_crf.h denseCrfPreset):
    // "psa" (the default; ACR's, USAGE's), "afa", "vitpcm", "irn", "toco".
    std::string crfPreset = "psa";

    // PAR or the CRF: work on the maps (the engine's worker), never for a slider step.
    bool refines() const { return parIterations > 0 || crf; }
    bool operator==(const PseudoLabelRule &o) const
    {
        return bgThreshold == o.bgThreshold && background == o.background && bandLow == o.bandLow &&
               bandHigh == o.bandHigh && parIterations == o.parIterations && crf == o.crf && crfPreset == o.crfPreset;
    }
    bool operator!=(const PseudoLabelRule &o) const { return !(*this == o); }

    void validate() const; // wsss::Error naming the field
    // Older exports hold only "bg_threshold" (and no "crf" or "crf_preset"); they read back with the
    // other fields at their defaults.
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

} // namespace wsss::vision
