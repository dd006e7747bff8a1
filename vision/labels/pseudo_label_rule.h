#pragma once
// PseudoLabelRule: how class maps become a pseudo-mask. A pure function of the maps, so the
// studio re-applies it on every slider move without going back to the model.
#include <nlohmann/json_fwd.hpp>

#include <cstdint>
#include <vector>

namespace wsss::vision {

struct PseudoLabelRule {
    float bgThreshold = 0.45f; // a pixel is background when every class score is ≤ this (ties to bg)

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

} // namespace wsss::vision
