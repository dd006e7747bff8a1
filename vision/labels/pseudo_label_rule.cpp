#include "vision/labels/pseudo_label_rule.h"

#include "vision/core/error.h"
#include "vision/core/labels.h"
#include "vision/refine/dense_crf_params.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <limits>

namespace wsss::vision {

std::string backgroundRuleName(BackgroundRule rule)
{
    return rule == BackgroundRule::Band ? "band" : "threshold";
}

BackgroundRule backgroundRuleFromName(const std::string &name)
{
    if (name == "threshold")
        return BackgroundRule::Threshold;
    if (name == "band")
        return BackgroundRule::Band;
    throw Error("pseudo-label rule: unknown background rule \"" + name + "\" (threshold or band)");
}

void PseudoLabelRule::validate() const
{
    auto inUnit = [](float v) { return v >= 0.0f && v <= 1.0f; };
    if (!inUnit(bgThreshold))
        throw Error("pseudo-label rule: bg_threshold " + std::to_string(bgThreshold) + " is outside 0..1");
    if (!inUnit(bandLow) || !inUnit(bandHigh) || !(bandLow <= bandHigh))
        throw Error("pseudo-label rule: band " + std::to_string(bandLow) + "," + std::to_string(bandHigh) +
                    " is not 0 ≤ β_l ≤ β_h ≤ 1");
    if (parIterations < 0)
        throw Error("pseudo-label rule: par_iterations " + std::to_string(parIterations) + " is negative");
    if (!isDenseCrfPreset(crfPreset))
        throw Error("pseudo-label rule: crf_preset \"" + crfPreset + "\" is not one of " + denseCrfPresetList());
}

nlohmann::json PseudoLabelRule::toJson() const
{
    // Scores are floats: written at their float precision (0.55, not 0.550000011920929).
    auto score = [](float v) { return std::round(double(v) * 1e6) / 1e6; };
    return {{"bg_threshold", score(bgThreshold)},
            {"background", backgroundRuleName(background)},
            {"band_low", score(bandLow)},
            {"band_high", score(bandHigh)},
            {"par_iterations", parIterations},
            {"crf", crf},
            {"crf_preset", crfPreset}};
}

PseudoLabelRule PseudoLabelRule::fromJson(const nlohmann::json &json)
{
    PseudoLabelRule rule;
    for (auto it = json.begin(); it != json.end(); ++it) {
        if (it.key() == "bg_threshold")
            rule.bgThreshold = it->get<float>();
        else if (it.key() == "background")
            rule.background = backgroundRuleFromName(it->get<std::string>());
        else if (it.key() == "band_low")
            rule.bandLow = it->get<float>();
        else if (it.key() == "band_high")
            rule.bandHigh = it->get<float>();
        else if (it.key() == "par_iterations")
            rule.parIterations = it->get<int>();
        else if (it.key() == "crf")
            rule.crf = it->get<bool>();
        else if (it.key() == "crf_preset")
            rule.crfPreset = it->get<std::string>();
        else
            throw Error("pseudo-label rule: unknown key \"" + it.key() + "\"");
    }
    rule.validate();
    return rule;
}

LabelledMaps labelledMaps(const float *maps, int numMaps, const std::vector<int> &labels, std::size_t n)
{
    LabelledMaps out;
    for (int c : labels)
        if (c >= 1 && c <= numMaps) {
            out.maps.push_back(maps + static_cast<std::size_t>(c - 1) * n);
            out.classIds.push_back(c);
        }
    return out;
}

void maxAndArgmax(const std::vector<const float *> &maps, const std::vector<int> &classIds, std::size_t n,
                  float *maxScore, std::uint8_t *argmaxClass)
{
    if (maps.size() != classIds.size())
        throw Error("maxAndArgmax: " + std::to_string(maps.size()) + " maps but " +
                    std::to_string(classIds.size()) + " class ids");
    for (std::size_t i = 0; i < n; ++i) {
        maxScore[i] = maps.empty() ? 0.0f : -1e30f;
        argmaxClass[i] = 0;
    }
    for (std::size_t m = 0; m < maps.size(); ++m) {
        const float *src = maps[m];
        const auto id = static_cast<std::uint8_t>(classIds[m]);
        for (std::size_t i = 0; i < n; ++i)
            if (src[i] > maxScore[i]) {
                maxScore[i] = src[i];
                argmaxClass[i] = id;
            }
    }
}

void applyBackgroundThreshold(const std::vector<const float *> &maps, const std::vector<int> &classIds,
                              std::size_t n, float threshold, std::uint8_t *out)
{
    std::vector<float> best(n);
    maxAndArgmax(maps, classIds, n, best.data(), out);
    for (std::size_t i = 0; i < n; ++i)
        if (!(best[i] > threshold))
            out[i] = 0;
}

void applyPseudoLabelRule(const PseudoLabelRule &rule, const std::vector<const float *> &maps,
                          const std::vector<int> &classIds, std::size_t n, std::uint8_t *out)
{
    if (rule.background == BackgroundRule::Threshold) {
        applyBackgroundThreshold(maps, classIds, n, rule.bgThreshold, out);
        return;
    }
    std::vector<float> best(n);
    maxAndArgmax(maps, classIds, n, best.data(), out);
    for (std::size_t i = 0; i < n; ++i) {
        if (!(best[i] > rule.bandLow))
            out[i] = 0;
        else if (!(best[i] > rule.bandHigh))
            out[i] = kIgnoreLabel;
    }
}

} // namespace wsss::vision
