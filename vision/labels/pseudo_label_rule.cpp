#include "vision/labels/pseudo_label_rule.h"

#include "vision/core/error.h"

#include <nlohmann/json.hpp>

namespace wsss::vision {

nlohmann::json PseudoLabelRule::toJson() const
{
    return {{"bg_threshold", bgThreshold}};
}

PseudoLabelRule PseudoLabelRule::fromJson(const nlohmann::json &json)
{
    PseudoLabelRule rule;
    for (auto it = json.begin(); it != json.end(); ++it) {
        if (it.key() == "bg_threshold")
            rule.bgThreshold = it->get<float>();
        else
            throw Error("pseudo-label rule: unknown key \"" + it.key() + "\"");
    }
    if (!(rule.bgThreshold >= 0.0f && rule.bgThreshold <= 1.0f))
        throw Error("pseudo-label rule: bg_threshold " + std::to_string(rule.bgThreshold) + " is outside 0..1");
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

} // namespace wsss::vision
