#include "vision/labels/pseudo_label_maps.h"

#include "vision/core/error.h"
#include "vision/core/labels.h"
#include "vision/refine/dense_crf.h"
#include "vision/refine/par.h"

#include <ATen/ATen.h>
#include <ATen/Parallel.h>

#include <algorithm>

namespace wsss::vision {

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
    return denseCrfWithBackground(maps, rule.bgThreshold, imageHW3, denseCrfPreset(rule.crfPreset));
}

torch::Tensor crfMarginalsAt(const PseudoLabelRule &rule, const torch::Tensor &maps, const torch::Tensor &imageHW3,
                             const std::vector<float> &thresholds)
{
    rule.validate();
    return denseCrfWithBackgrounds(maps, thresholds, imageHW3, denseCrfPreset(rule.crfPreset));
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

RefinedPlanes refineLabelledPlanes(const PseudoLabelRule &rule, const torch::Tensor &maps,
                                   const torch::Tensor &imageHW3, const std::vector<int> &allowed)
{
    if (maps.dim() != 3 || imageHW3.dim() != 3 || imageHW3.size(2) != 3 || imageHW3.size(0) != maps.size(1) ||
        imageHW3.size(1) != maps.size(2))
        throw Error("pseudo-label rule: maps " + c10::str(maps.sizes()) + " and image " + c10::str(imageHW3.sizes()) +
                    " do not match (expected [K, H, W] and [H, W, 3])");
    RefinedPlanes out;
    std::vector<std::int64_t> planes;
    for (int c : allowed)
        if (c >= 1 && c <= maps.size(0)) {
            planes.push_back(c - 1);
            out.classIds.push_back(c);
        }
    if (planes.empty()) {
        out.maps = torch::empty({0, maps.size(1), maps.size(2)}, maps.options());
        return out;
    }
    out.maps = maps.index_select(0, torch::tensor(planes, torch::kLong).to(maps.device()));
    return refinePlanes(rule, std::move(out), imageHW3);
}

RefinedPlanes refinePlanes(const PseudoLabelRule &rule, RefinedPlanes chosen, const torch::Tensor &imageHW3)
{
    if (chosen.maps.dim() != 3 || chosen.maps.size(0) != static_cast<std::int64_t>(chosen.classIds.size()))
        throw Error("pseudo-label rule: planes " + c10::str(chosen.maps.sizes()) + " do not match " +
                    std::to_string(chosen.classIds.size()) + " class ids");
    // PAR reads the image [3, H, W] in [0, 1]; only built when PAR runs.
    if (rule.parIterations > 0 && !chosen.classIds.empty())
        chosen.maps = refineMaps(
            rule, imageHW3.to(chosen.maps.device()).permute({2, 0, 1}).to(torch::kFloat) / 255.0f, chosen.maps);
    return chosen;
}

torch::Tensor decideRefined(const PseudoLabelRule &rule, const RefinedPlanes &planes, const torch::Tensor &imageHW3)
{
    if (planes.classIds.empty())
        return torch::zeros({planes.maps.size(1), planes.maps.size(2)},
                            torch::TensorOptions().dtype(torch::kByte).device(planes.maps.device()));
    if (rule.crf)
        return labelsFromMarginals(crfMarginals(rule, planes.maps, imageHW3.to(planes.maps.device())), planes.classIds);
    return pseudoLabel(rule, planes.maps, planes.classIds, planes.classIds);
}

torch::Tensor decideWithOwnBackground(const PseudoLabelRule &rule, const torch::Tensor &background,
                                      const RefinedPlanes &planes, const torch::Tensor &imageHW3)
{
    if (background.dim() != 2 || planes.maps.dim() != 3 || background.size(0) != planes.maps.size(1) ||
        background.size(1) != planes.maps.size(2))
        throw Error("pseudo-label rule: background " + c10::str(background.sizes()) + " and maps " +
                    c10::str(planes.maps.sizes()) + " do not match (expected [H, W] and [K, H, W])");
    const auto rgb = imageHW3.to(planes.maps.device());
    auto all = torch::cat({background.to(planes.maps.device()).unsqueeze(0), planes.maps}, 0);
    all = refineMaps(rule, rgb.permute({2, 0, 1}).to(torch::kFloat) / 255.0f, all);
    if (rule.crf) {
        const auto scores = all.clamp_min(0) + 1e-12f;
        all = denseCrf(scores / scores.sum(0, true), rgb, denseCrfPreset(rule.crfPreset));
    }
    return labelsFromMarginals(all, planes.classIds);
}

} // namespace wsss::vision
