#include "vision/maps/eca_carm.h"

#include "vision/core/error.h"
#include "vision/core/labels.h"

#include <torch/nn/functional/upsampling.h>

#include <cmath>
#include <string>

namespace wsss::vision {

namespace F = torch::nn::functional;

namespace {

// The min-max of the official code: (x − min)/(max(x − min) + 1e-5) over the last dimension.
torch::Tensor minMaxLastDim(const torch::Tensor &x)
{
    const auto shifted = x - std::get<0>(x.min(-1, true));
    return shifted / (std::get<0>(shifted.max(-1, true)) + 1e-5);
}

torch::Tensor resizeBilinear(const torch::Tensor &maps, std::int64_t height, std::int64_t width)
{
    if (maps.size(-2) == height && maps.size(-1) == width)
        return maps;
    return F::interpolate(maps, F::InterpolateFuncOptions()
                                    .size(std::vector<std::int64_t>{height, width})
                                    .mode(torch::kBilinear)
                                    .align_corners(false));
}

torch::Tensor unitRows(const torch::Tensor &x)
{
    return x / x.pow(2).sum(-1, true).sqrt().clamp_min(1e-12);
}

void checkGrid(std::int64_t gridH, std::int64_t gridW)
{
    if (gridH < 1 || gridW < 1)
        throw Error("CARM: grid " + std::to_string(gridH) + "×" + std::to_string(gridW) + " is empty");
}

// box [B, H, W] bool, or undefined → all true, as float [B, 1, H, W].
torch::Tensor boxMask(const torch::Tensor &box, const torch::Tensor &like)
{
    const auto b = like.size(0), h = like.size(2), w = like.size(3);
    if (!box.defined())
        return torch::ones({b, 1, h, w}, like.options());
    if (box.dim() != 3 || box.size(0) != b || box.size(1) != h || box.size(2) != w)
        throw Error("CARM: box " + c10::str(box.sizes()) + " does not match maps " + c10::str(like.sizes()) +
                    " (expected [B, H, W])");
    return box.to(like.device()).to(torch::kFloat).unsqueeze(1);
}

} // namespace

void CarmConfig::validate() const
{
    auto fail = [](const std::string &field, double v, const std::string &expected) {
        throw Error("CARM config: " + field + " " + c10::str(v) + " " + expected);
    };
    if (!(seedFraction >= 0 && seedFraction <= 1))
        fail("seed_fraction", seedFraction, "is outside 0..1");
    if (!(affinityThreshold >= -1 && affinityThreshold <= 1))
        fail("affinity_threshold", affinityThreshold, "is outside −1..1 (a cosine)");
    if (!(bgAffinityThreshold >= -1 && bgAffinityThreshold <= 1))
        fail("bg_affinity_threshold", bgAffinityThreshold, "is outside −1..1 (a cosine)");
    if (!(cueThreshold >= -1 && cueThreshold <= 1))
        fail("cue_threshold", cueThreshold, "is outside −1..1 (a cosine)");
    if (!std::isfinite(assignmentBackground))
        fail("assignment_background", assignmentBackground, "is not finite");
    if (!(bgClampLow <= bgClampHigh) || !std::isfinite(bgClampLow) || !std::isfinite(bgClampHigh))
        fail("bg_clamp_low", bgClampLow, "must be ≤ bg_clamp_high " + c10::str(bgClampHigh) + ", both finite");
}

std::int64_t carmSeedCount(std::int64_t assigned, double fraction)
{
    if (assigned < 0)
        throw Error("CARM: seed count of " + std::to_string(assigned) + " assigned patches");
    // std::nearbyint rounds half to even under the default rounding mode, as Python's round.
    return static_cast<std::int64_t>(std::nearbyint(fraction * static_cast<double>(assigned))) + 1;
}

torch::Tensor guiderKeys(const torch::Tensor &keys, const CarmConfig &config)
{
    if (keys.dim() != 3 || keys.size(1) < 1)
        throw Error("CARM: keys " + c10::str(keys.sizes()) + ", expected [B, N, D]");
    const auto k = keys.to(torch::kFloat);
    return config.centerKeys ? k - k.mean(1, true) : k;
}

torch::Tensor keyAffinity(const torch::Tensor &keys)
{
    if (keys.dim() != 3 || keys.size(1) < 1 || keys.size(2) < 1)
        throw Error("CARM: keys " + c10::str(keys.sizes()) + ", expected [B, N, D]");
    const auto f = unitRows(keys.to(torch::kFloat));
    return torch::bmm(f, f.transpose(1, 2));
}

torch::Tensor clsForegroundCue(const torch::Tensor &clsQuery, const torch::Tensor &keys)
{
    if (keys.dim() != 3 || clsQuery.dim() != 2 || clsQuery.size(0) != keys.size(0) ||
        clsQuery.size(1) != keys.size(2))
        throw Error("CARM: CLS query " + c10::str(clsQuery.sizes()) + " does not match keys " +
                    c10::str(keys.sizes()) + " (expected [B, D] and [B, N, D])");
    const auto q = unitRows(clsQuery.to(torch::kFloat)).unsqueeze(2); // [B, D, 1]
    return torch::bmm(unitRows(keys.to(torch::kFloat)), q).squeeze(2);
}

CarmSeedInputs carmSeedInputs(const torch::Tensor &cams, const torch::Tensor &labels, const torch::Tensor &box,
                              std::int64_t gridH, std::int64_t gridW, const CarmConfig &config)
{
    config.validate();
    checkGrid(gridH, gridW);
    if (cams.dim() != 4 || cams.size(1) < 1)
        throw Error("CARM: cams " + c10::str(cams.sizes()) + ", expected [B, K, H, W]");
    if (labels.dim() != 2 || labels.size(0) != cams.size(0) || labels.size(1) != cams.size(1))
        throw Error("CARM: labels " + c10::str(labels.sizes()) + " do not match cams " + c10::str(cams.sizes()) +
                    " (expected [B, K], no background)");
    const auto m = cams.to(torch::kFloat);
    const auto inBox = boxMask(box, m);
    const auto peak = std::get<0>(m.max(1, true));
    const auto scores = torch::cat({(1 - peak) * inBox, m}, 1);
    const auto masked = m * labels.to(m.device()).to(torch::kFloat).unsqueeze(-1).unsqueeze(-1);
    // Paper Eq. 2–3 puts 1 − max_c M_c where the code has a constant 0.45.
    const auto bg = config.paperAssignment ? 1 - peak : torch::full_like(peak, config.assignmentBackground);
    const auto assignmentScores = torch::cat({bg, masked}, 1);
    return {resizeBilinear(scores, gridH, gridW), resizeBilinear(assignmentScores, gridH, gridW).argmax(1)};
}

torch::Tensor carmSeeds(const torch::Tensor &scores, const torch::Tensor &assignment, double fraction,
                        bool seedUnassigned)
{
    if (scores.dim() != 3 || assignment.dim() != 2 || assignment.size(0) != scores.size(0) ||
        assignment.size(1) != scores.size(2))
        throw Error("CARM: seed scores " + c10::str(scores.sizes()) + " do not match the assignment " +
                    c10::str(assignment.sizes()) + " (expected [B, C, N] and [B, N])");
    if (!(fraction >= 0 && fraction <= 1))
        throw Error("CARM: seed fraction " + c10::str(fraction) + " is outside 0..1");
    const auto C = scores.size(1), N = scores.size(2);
    const auto classes = torch::arange(C, assignment.options().dtype(torch::kLong)).view({1, C, 1});
    const auto v = scores.to(torch::kFloat) * assignment.unsqueeze(1).eq(classes);
    // round(fraction·n) + 1 in double: torch::round rounds half to even, as carmSeedCount.
    const auto n = v.ne(0).sum(2, true).to(torch::kDouble);
    auto count = torch::round(n * fraction) + 1; // [B, C, 1]
    if (!seedUnassigned)
        count = count * n.gt(0);
    const auto order = std::get<1>(v.sort(/*stable=*/true, /*dim=*/2, /*descending=*/true));
    const auto rank = torch::arange(N, n.options()).view({1, 1, N});
    return torch::zeros_like(v, v.options().dtype(torch::kBool)).scatter(2, order, rank.lt(count).expand_as(v));
}

torch::Tensor classAwareAffinity(const torch::Tensor &affinity, const torch::Tensor &seeds, const torch::Tensor &cue,
                                 const torch::Tensor &present, const CarmConfig &config)
{
    config.validate();
    if (affinity.dim() != 3 || affinity.size(1) != affinity.size(2) || seeds.dim() != 3 ||
        seeds.size(0) != affinity.size(0) || seeds.size(2) != affinity.size(1) || seeds.size(1) < 1)
        throw Error("CARM: affinity " + c10::str(affinity.sizes()) + " does not match seeds " +
                    c10::str(seeds.sizes()) + " (expected [B, N, N] and [B, C, N])");
    if (cue.dim() != 2 || cue.size(0) != seeds.size(0) || cue.size(1) != seeds.size(2))
        throw Error("CARM: cue " + c10::str(cue.sizes()) + " does not match seeds " + c10::str(seeds.sizes()) +
                    " (expected [B, N])");
    if (present.dim() != 2 || present.size(0) != seeds.size(0) || present.size(1) != seeds.size(1))
        throw Error("CARM: present classes " + c10::str(present.sizes()) + " do not match seeds " +
                    c10::str(seeds.sizes()) + " (expected [B, C], background at 0)");
    const auto g = affinity.to(torch::kFloat);
    const auto s = seeds.to(torch::kFloat);
    // Counts: R[b, c, j] = Σ_i seed[b, c, i] · [G(i, j) > γ] (exact in float up to 2^24 seeds).
    const auto bg = torch::bmm(s.slice(1, 0, 1), g.gt(config.bgAffinityThreshold).to(torch::kFloat));
    auto fg = torch::bmm(s.slice(1, 1), g.gt(config.affinityThreshold).to(torch::kFloat));
    const auto a = cue.to(torch::kFloat).unsqueeze(1);
    fg = config.softCue ? fg * a : fg * a.gt(config.cueThreshold).to(torch::kFloat);
    const auto counts = torch::cat({bg, fg}, 1);
    return minMaxLastDim(counts) * present.to(counts.device()).to(torch::kFloat).unsqueeze(-1);
}

torch::Tensor carmAtScale(const torch::Tensor &cams, const torch::Tensor &labels, const torch::Tensor &box,
                          const torch::Tensor &keys, const torch::Tensor &clsQuery, std::int64_t gridH,
                          std::int64_t gridW, const CarmConfig &config)
{
    checkGrid(gridH, gridW);
    if (keys.dim() != 3 || keys.size(1) != gridH * gridW)
        throw Error("CARM: keys " + c10::str(keys.sizes()) + " do not cover the " + std::to_string(gridH) + "×" +
                    std::to_string(gridW) + " grid (expected [B, " + std::to_string(gridH * gridW) + ", D])");
    const auto inputs = carmSeedInputs(cams, labels, box, gridH, gridW, config);
    const auto B = cams.size(0), C = cams.size(1) + 1;
    const auto present =
        torch::cat({torch::ones({B, 1}, cams.options().dtype(torch::kFloat)), labels.to(cams.device()).to(torch::kFloat)}, 1);
    const auto seeds =
        carmSeeds(inputs.scores.flatten(2), inputs.assignment.flatten(1), config.seedFraction, config.seedUnassigned);
    const auto k = guiderKeys(keys.to(cams.device()), config);
    const auto r = classAwareAffinity(keyAffinity(k), seeds, clsForegroundCue(clsQuery.to(cams.device()), k), present,
                                      config);
    return r.view({B, C, gridH, gridW});
}

torch::Tensor fuseCarmScales(const std::vector<torch::Tensor> &scales, std::int64_t height, std::int64_t width,
                             const CarmConfig &config)
{
    config.validate();
    checkGrid(height, width);
    if (scales.empty())
        throw Error("CARM: no scales to fuse");
    torch::Tensor sum;
    for (const auto &r : scales) {
        if (r.dim() != 4 || scales.front().dim() != 4 || r.size(0) != scales.front().size(0) ||
            r.size(1) != scales.front().size(1))
            throw Error("CARM: scale maps " + c10::str(r.sizes()) + " and " + c10::str(scales.front().sizes()) +
                        " do not share [B, C]");
        const auto up = resizeBilinear(r.to(torch::kFloat), height, width);
        sum = sum.defined() ? sum + up : up;
    }
    const auto fused = minMaxLastDim(sum.flatten(2)).view_as(sum);
    return torch::cat({fused.slice(1, 0, 1).clamp(config.bgClampLow, config.bgClampHigh), fused.slice(1, 1)}, 1);
}

torch::Tensor carmPseudoLabel(const torch::Tensor &carm, const torch::Tensor &image, const torch::Tensor &box,
                              std::int64_t height, std::int64_t width, const ParConfig &par)
{
    checkGrid(height, width);
    if (carm.dim() != 4 || image.dim() != 4 || image.size(0) != carm.size(0) || image.size(1) != 3)
        throw Error("CARM label: maps " + c10::str(carm.sizes()) + " and image " + c10::str(image.sizes()) +
                    " do not match (expected [B, C, h, w] and [B, 3, h', w'])");
    const auto sized = resizeBilinear(carm.to(torch::kFloat), image.size(2), image.size(3));
    const auto refined = resizeBilinear(refineWithPar(image, sized, par), height, width);
    auto labels = refined.argmax(1).to(torch::kByte);
    const auto inBox = boxMask(box, refined).squeeze(1);
    return labels.masked_fill(inBox.eq(0), static_cast<std::int64_t>(kIgnoreLabel));
}

} // namespace wsss::vision
