#include "training/methods/eca/eca_method.h"

#include "training/methods/afa/afa_losses.h"
#include "training/methods/cam/cam_method.h"
#include "training/methods/eca/eca_crops.h"
#include "training/methods/eca/eca_losses.h"
#include "vision/core/error.h"
#include "vision/labels/refined_labels.h"
#include "vision/maps/cam.h"
#include "vision/maps/class_prototypes.h"
#include "vision/maps/eca_carm.h"
#include "vision/refine/affinity_labels.h"
#include "vision/refine/par.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

namespace wsss::training {

namespace F = torch::nn::functional;

namespace {

EcaConfig resolved(const MethodSpec &spec)
{
    auto c = EcaConfig::fromJson(spec.config);
    c.guiderBackbone = c.resolvedGuiderBackbone(); // stored resolved: a reload needs no guider file
    return c;
}

// PAR on the maps at half the image's side, with AFA's dilations scaled to that side.
vision::ParConfig halfSidePar(const AfaConfig &afa, std::int64_t height, std::int64_t width)
{
    vision::ParConfig par;
    par.iterations = afa.parIterations;
    par.dilations = afa.parDilationsFor(std::min(height, width) / 2);
    return par;
}

// The image PAR reads at half size, as the official CARM label takes it: the normalised input
// downsampled, then de-normalised to 8-bit steps (eca.md §7 "Refine and label").
torch::Tensor halfImage(const torch::Tensor &normalized, const vision::Normalization &norm)
{
    const auto half = vision::resizeMaps(normalized, normalized.size(2) / 2, normalized.size(3) / 2);
    return vision::denormalizeTo8Bit(half, norm.mean, norm.std);
}

// An [N, N] affinity over a gh × gw grid resampled to GH × GW on both axes (bilinear).
torch::Tensor resampleAffinity(const torch::Tensor &affinity, std::int64_t gh, std::int64_t gw, std::int64_t GH,
                               std::int64_t GW)
{
    if (gh == GH && gw == GW)
        return affinity;
    auto rows = vision::resizeMaps(affinity.view({1, gh * gw, gh, gw}), GH, GW)[0]; // [n, GH, GW]
    rows = rows.flatten(1).t().contiguous();                                        // [M, n]
    return vision::resizeMaps(rows.view({1, GH * GW, gh, gw}), GH, GW)[0].flatten(1).t().contiguous();
}

} // namespace

EcaMethod::EcaMethod(const MethodSpec &spec) : EcaMethod(spec, resolved(spec)) {}

EcaMethod::EcaMethod(const MethodSpec &spec, EcaConfig config)
    : AfaMethod(spec, config.afa), m_eca(std::move(config)), m_numClasses(spec.numClasses)
{
    m_eca.afa = m_config; // AFA resolved its affinity input
    m_guider = register_module("guider", Guider(m_eca.guiderBackbone));
    torch::NoGradGuard noGrad;
    m_prototypes = register_buffer("prototypes", torch::randn({spec.numClasses, backboneInfo().channels}));
}

nlohmann::json EcaMethod::config() const
{
    return m_eca.toJson();
}

TrainRecipe EcaMethod::recipe() const
{
    auto r = AfaMethod::recipe(); // AFA's PolyWarmupAdamW; 1500 of ECA's 18000 steps of warm-up
    r.warmupFraction = 1500.0 / 18000.0;
    return r;
}

std::vector<torch::optim::OptimizerParamGroup> EcaMethod::parameterGroups(const TrainRecipe &recipe)
{
    auto groups = AfaMethod::parameterGroups(recipe);
    // AFA's grouping puts every non-backbone parameter with the heads: take the guider's out.
    std::vector<const void *> frozen;
    for (const auto &p : m_guider->parameters())
        frozen.push_back(p.unsafeGetTensorImpl());
    for (auto &group : groups) {
        auto &params = group.params();
        params.erase(std::remove_if(params.begin(), params.end(),
                                    [&](const torch::Tensor &t) {
                                        return std::find(frozen.begin(), frozen.end(), t.unsafeGetTensorImpl()) !=
                                               frozen.end();
                                    }),
                     params.end());
    }
    return groups;
}

std::vector<std::string> EcaMethod::startProblems() const
{
    if (m_eca.guider.empty())
        return {"eca needs a guider: --guider FILE (DINO ViT weights as safetensors, or the checkpoint of a "
                "`wsss train --method dino` run on these images)"};
    if (!std::filesystem::is_regular_file(m_eca.guider))
        return {"eca: the guider \"" + m_eca.guider + "\" is not a file"};
    return {};
}

std::vector<std::string> EcaMethod::loadAuxiliaryWeights()
{
    if (const auto problems = startProblems(); !problems.empty())
        throw Error(problems.front());
    auto notes = m_guider->load(m_eca.guider);
    notes.insert(notes.begin(), "guider \"" + m_eca.guider + "\" (" + m_eca.guiderBackbone + ")");
    return notes;
}

torch::Tensor EcaMethod::classesIn(const torch::Tensor &labelMaps, std::int64_t numClasses)
{
    const auto flat = labelMaps.flatten(1).to(torch::kLong);
    const auto classes = torch::arange(1, numClasses + 1, flat.options()).view({1, -1, 1});
    return flat.unsqueeze(1).eq(classes).any(2).to(torch::kFloat);
}

EcaMethod::ClassAwareMaps EcaMethod::classAwareMaps(const torch::Tensor &image, const torch::Tensor &cams,
                                                    const torch::Tensor &labels, const torch::Tensor &box,
                                                    const torch::Tensor &features, bool updateBank)
{
    torch::NoGradGuard noGrad;
    ClassAwareMaps out;
    std::vector<torch::Tensor> scales;
    for (std::size_t s = 0; s < m_eca.guiderScales.size(); ++s) {
        const auto keys = m_guider->keysAt(image, m_eca.guiderScales[s]);
        scales.push_back(vision::carmAtScale(cams, labels, box, keys.keys, keys.clsQuery, keys.gridH, keys.gridW,
                                             m_eca.carm));
        if (s == 0) { // the fused grid, and what the studio shows, are the first scale's
            const auto k = vision::guiderKeys(keys.keys, m_eca.carm); // what the CARMs read
            out.affinity = vision::keyAffinity(k);
            out.cue = vision::clsForegroundCue(keys.clsQuery, k);
            out.gridH = keys.gridH;
            out.gridW = keys.gridW;
        }
    }
    out.raw = vision::fuseCarmScales(scales, out.gridH, out.gridW, m_eca.carm);
    vision::ClassPrototypes bank(m_prototypes.clone());
    out.calibrated = bank.calibrate(out.raw, features, labels, m_eca.prototypes);
    if (updateBank)
        m_prototypes.copy_(bank.bank().to(m_prototypes.device()));
    return out;
}

StepResult EcaMethod::trainStep(const Batch &batch)
{
    const auto B = batch.images.size(0), H = batch.images.size(2), W = batch.images.size(3);
    const auto K = batch.labels.size(1);
    auto main = forward(batch.images);
    StepResult r;
    r.losses["cls"] = multilabelSoftMarginLoss(main.logits, batch.labels);

    // The official stages, scaled to the run: classification alone, then the CARM label's seg
    // and affinity terms, then the CAM label's seg term and CCE.
    const auto at = [&](double fraction) { return static_cast<std::int64_t>(std::lround(fraction * batch.totalSteps)); };
    if (batch.step <= at(m_config.clsOnlyFraction))
        return r;
    const bool late = batch.step > at(m_eca.cceStartFraction);

    const auto t = targets(batch, main); // AFA's CAM label, its affinity labels and the seg label
    const auto norm = backboneInfo().norm;
    const auto box = batch.valid.defined() ? batch.valid.to(batch.images.device()) : torch::Tensor();
    const auto saeLabels = m_eca.saeLabels == "gt" ? batch.labels : classesIn(t.pseudo, K).to(batch.labels.device());
    const auto sae = classAwareMaps(t.image, t.cams, saeLabels, box, main.features.detach(), /*updateBank=*/true);
    torch::Tensor carmLabel;
    {
        torch::NoGradGuard noGrad;
        carmLabel = vision::carmPseudoLabel(sae.calibrated, halfImage(batch.images, norm), box, H, W,
                                            halfSidePar(m_config, H, W))
                        .to(torch::kLong);
    }
    const auto gh = main.cams.size(2), gw = main.cams.size(3);
    const auto carmAffinity = vision::affinityLabels(carmLabel, gh, gw, m_config.radiusFor(gh, gw));
    r.logs["ignored"] = t.ignored;
    r.logs["carm_foreground"] = carmLabel.gt(0).logical_and(carmLabel.ne(255)).to(torch::kFloat).mean().item<double>();

    const auto segLogits = vision::resizeMaps(segment(main), H, W);
    r.losses["seg_carm"] = m_config.segWeight * balancedSegLoss(segLogits, carmLabel);
    r.losses["aff"] = m_config.affWeight * (m_eca.affCarmShare * affinityLoss(main.affinity, carmAffinity) +
                                            (1 - m_eca.affCarmShare) * affinityLoss(main.affinity, t.affinity));
    if (!late)
        return r;
    r.losses["seg_cam"] = m_config.segWeight * balancedSegLoss(segLogits, t.seg);

    // CCE: the crops' CAMs (with gradient), compared at side / downscale.
    const auto multiple = backboneInfo().inputMultiple;
    const auto side = std::max<std::int64_t>(
        multiple, static_cast<std::int64_t>(std::floor(m_eca.cceCropFraction * std::min(H, W) / multiple)) * multiple);
    const CropAugment augment{{m_eca.jitterBrightness, m_eca.jitterContrast, m_eca.jitterSaturation, m_eca.jitterHue},
                              m_eca.grayscaleProbability, m_eca.flipProbability};
    const auto crops = correspondenceCrops(t.image, t.pseudo, m_eca.cceCrops, side, augment, norm);
    const auto p = std::max<std::int64_t>(1, side / m_eca.cceDownscale);
    const auto cropCams = vision::resizeMaps(forward(crops.images).cams, p, p);     // [B·V, K, p, p]
    const auto cropLabels = F::interpolate(crops.labels.unsqueeze(1).to(torch::kFloat),
                                           F::InterpolateFuncOptions()
                                               .size(std::vector<std::int64_t>{p, p})
                                               .mode(torch::kNearest))
                                .squeeze(1)
                                .to(torch::kLong);
    const auto V = m_eca.cceCrops;
    r.losses["cce"] = m_eca.cceWeight * cceLoss(cropCams.reshape({B, V, K, p * p}),
                                                cropLabels.reshape({B, V, p * p}), m_eca.cceLoss);
    return r;
}

MethodOutput EcaMethod::infer(const torch::Tensor &image, bool captureAttention, const torch::Tensor &labels)
{
    return inferEca(image, captureAttention, labels, nullptr);
}

MethodOutput EcaMethod::inferMaps(const torch::Tensor &image, const torch::Tensor &labels,
                                  const std::set<std::string> &kinds)
{
    for (const char *own : {"carm", "carm_raw", "carm_calibrated", "guider_cue"})
        if (kinds.count(own))
            return inferEca(image, false, labels, &kinds);
    return AfaMethod::inferMaps(image, labels, kinds);
}

MethodOutput EcaMethod::inferEca(const torch::Tensor &image, bool captureAttention, const torch::Tensor &labels,
                                 const std::set<std::string> *only)
{
    std::set<std::string> afaKinds; // SAE spreads AFA's CAMs
    if (only) {
        afaKinds = *only;
        afaKinds.insert("cam");
    }
    Forward main;
    auto result = inferWith(image, captureAttention, labels, &main, only ? &afaKinds : nullptr);
    const auto H = image.size(2), W = image.size(3);
    const auto norm = backboneInfo().norm;
    // The classes SAE spreads: those AFA's maps were made for.
    const auto present = presentClasses(labels, result.scores).to(torch::kFloat).to(image.device());
    const auto &features = main.features;
    const auto image01 = vision::denormalizeTo8Bit(image, norm.mean, norm.std);
    const auto sae = classAwareMaps(image01, result.maps.at("cam").unsqueeze(0), present, torch::Tensor(),
                                    features, /*updateBank=*/false);
    // The CARM label's maps: PAR at half size (the official refinement), clamped to [0, 1] (PAR's
    // kernel sums to 1.01, so ten iterations grow the maps by ~10 %; the argmax is unchanged).
    if (makesMap(only, "carm")) {
        const auto half = halfImage(image, norm);
        const auto refined = vision::resizeMaps(
            vision::refineWithPar(half, vision::resizeMaps(sae.calibrated, half.size(2), half.size(3)),
                                  halfSidePar(m_config, H, W)),
            H, W)[0].clamp(0, 1);
        result.maps["carm"] = refined.slice(0, 1);
        result.backgrounds["carm"] = refined[0];
    }
    if (makesMap(only, "carm_raw"))
        result.maps["carm_raw"] = vision::resizeMaps(sae.raw, H, W)[0].slice(0, 1);
    if (makesMap(only, "carm_calibrated")) {
        const auto calibrated = vision::resizeMaps(sae.calibrated, H, W)[0];
        result.maps["carm_calibrated"] = calibrated.slice(0, 1);
        result.backgrounds["carm_calibrated"] = calibrated[0];
    }
    if (makesMap(only, "guider_cue")) {
        const auto cue = ((sae.cue[0].view({1, 1, sae.gridH, sae.gridW}) + 1) / 2).clamp(0, 1);
        result.maps["guider_cue"] = vision::resizeMaps(cue, H, W)[0].expand({m_numClasses, H, W}).contiguous();
    }
    if (!only)
        result.affinities["guider"] =
            resampleAffinity(sae.affinity[0], sae.gridH, sae.gridW, result.gridHeight, result.gridWidth);
    return result;
}

} // namespace wsss::training
