#include "vision/labels/pseudo_label_rule.h"

#include "vision/core/error.h"
#include "vision/core/labels.h"
#include "vision/refine/dense_crf.h"
#include "vision/refine/par.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <nlohmann/json.hpp>

#include <algorithm>
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
}

nlohmann::json PseudoLabelRule::toJson() const
{
    return {{"bg_threshold", bgThreshold},
            {"background", backgroundRuleName(background)},
            {"band_low", bandLow},
            {"band_high", bandHigh},
            {"par_iterations", parIterations},
            {"crf", crf}};
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

namespace {

std::vector<int> allowedPlanes(const std::vector<int> &classIds, const std::vector<int> &allowed)
{
    std::vector<int> planes;
    for (std::size_t k = 0; k < classIds.size(); ++k)
        if (std::find(allowed.begin(), allowed.end(), classIds[k]) != allowed.end())
            planes.push_back(static_cast<int>(k));
    return planes;
}

// The same decision as applyPseudoLabelRule in tensor ops, for maps on a GPU.
torch::Tensor pseudoLabelTensorOps(const PseudoLabelRule &rule, const torch::Tensor &maps,
                                   const std::vector<int> &classIds, const std::vector<int> &planes)
{
    const auto device = maps.device();
    const auto byteOptions = torch::TensorOptions().dtype(torch::kByte).device(device);
    auto out = torch::zeros({maps.size(1), maps.size(2)}, byteOptions);
    if (planes.empty())
        return out;
    std::vector<std::int64_t> planeIds(planes.begin(), planes.end()), ids;
    for (int p : planes)
        ids.push_back(classIds[static_cast<std::size_t>(p)]);
    const auto chosen = maps.index_select(0, torch::tensor(planeIds, torch::kLong).to(device)).to(torch::kFloat);
    const auto [best, which] = chosen.max(0); // first maximum wins, as maxAndArgmax
    out = torch::tensor(ids, torch::kLong).to(device).index_select(0, which.flatten()).view_as(which).to(torch::kByte);
    if (rule.background == BackgroundRule::Threshold)
        return out.masked_fill(best.le(rule.bgThreshold), 0);
    out = out.masked_fill(best.le(rule.bandHigh), static_cast<std::int64_t>(kIgnoreLabel));
    return out.masked_fill(best.le(rule.bandLow), 0);
}

} // namespace

torch::Tensor pseudoLabel(const PseudoLabelRule &rule, const torch::Tensor &maps, const std::vector<int> &classIds,
                          const std::vector<int> &allowed)
{
    if (maps.dim() != 3 || maps.size(0) != static_cast<std::int64_t>(classIds.size()))
        throw Error("pseudo-label rule: maps " + c10::str(maps.sizes()) + " do not match " +
                    std::to_string(classIds.size()) + " class ids (expected [K, H, W])");
    for (int id : classIds)
        if (id < 1 || id > 254)
            throw Error("pseudo-label rule: class id " + std::to_string(id) + " is outside 1..254");
    const auto planes = allowedPlanes(classIds, allowed);
    if (!maps.device().is_cpu())
        return pseudoLabelTensorOps(rule, maps, classIds, planes);
    const auto contiguous = maps.to(torch::kFloat).contiguous();
    const std::size_t n = static_cast<std::size_t>(maps.size(1) * maps.size(2));
    std::vector<const float *> chosen;
    std::vector<int> chosenIds;
    for (int p : planes) {
        chosen.push_back(contiguous.data_ptr<float>() + static_cast<std::size_t>(p) * n);
        chosenIds.push_back(classIds[static_cast<std::size_t>(p)]);
    }
    auto out = torch::empty({maps.size(1), maps.size(2)}, torch::kByte);
    std::uint8_t *labels = out.data_ptr<std::uint8_t>();
    // Pixels are independent: split them over LibTorch's threads.
    at::parallel_for(0, static_cast<std::int64_t>(n), 16384, [&](std::int64_t begin, std::int64_t end) {
        std::vector<const float *> part;
        for (const float *plane : chosen)
            part.push_back(plane + begin);
        applyPseudoLabelRule(rule, part, chosenIds, static_cast<std::size_t>(end - begin), labels + begin);
    });
    return out;
}

torch::Tensor refineMaps(const PseudoLabelRule &rule, const torch::Tensor &image, const torch::Tensor &maps)
{
    rule.validate();
    if (rule.parIterations == 0)
        return maps;
    if (maps.dim() != 3 || image.dim() != 3 || image.size(0) != 3 || image.size(1) != maps.size(1) ||
        image.size(2) != maps.size(2))
        throw Error("pseudo-label rule: maps " + c10::str(maps.sizes()) + " and image " + c10::str(image.sizes()) +
                    " do not match (expected [K, H, W] and [3, H, W])");
    ParConfig par;
    par.iterations = rule.parIterations;
    return refineWithPar(image.unsqueeze(0), maps.unsqueeze(0), par)[0];
}

torch::Tensor crfMarginals(const PseudoLabelRule &rule, const torch::Tensor &maps, const torch::Tensor &imageHW3)
{
    rule.validate();
    return denseCrfWithBackground(maps, rule.bgThreshold, imageHW3);
}

torch::Tensor labelsFromMarginals(const torch::Tensor &q, const std::vector<int> &classIds)
{
    if (q.dim() != 3 || q.size(0) != static_cast<std::int64_t>(classIds.size()) + 1)
        throw Error("pseudo-label rule: CRF marginals " + c10::str(q.sizes()) + " do not match " +
                    std::to_string(classIds.size()) + " class ids (expected [1 + K, H, W])");
    std::vector<std::int64_t> lookup{0};
    for (int id : classIds) {
        if (id < 1 || id > 254)
            throw Error("pseudo-label rule: class id " + std::to_string(id) + " is outside 1..254");
        lookup.push_back(id);
    }
    const auto which = q.argmax(0);
    return torch::tensor(lookup, torch::kLong).to(q.device()).index_select(0, which.flatten()).view_as(which).to(torch::kByte);
}

} // namespace wsss::vision
