#include "training/methods/afa/afa_method.h"

#include "training/methods/afa/afa_losses.h"
#include "training/methods/cam/cam_method.h"
#include "training/methods/config_json.h"
#include "vision/backbones/backbone_registry.h"
#include "vision/core/error.h"
#include "vision/labels/refined_labels.h"
#include "vision/maps/multi_scale.h"
#include "vision/refine/affinity_labels.h"
#include "vision/refine/random_walk.h"
#include "vision/weights/mit_key_maps.h"

#include <torch/optim/adamw.h>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

namespace wsss::training {

// The official loss layer's own weight (DenseEnergyLoss(weight=1e-7, ...)), under λ3.
constexpr double kRegInnerWeight = 1e-7;

nlohmann::json AfaConfig::toJson() const
{
    return {{"pooling", pooling},
            {"cam_scales", camScales},
            {"bg_high", bgHigh},
            {"bg_low", bgLow},
            {"cam_bg_threshold", camBgThreshold},
            {"radius", radius},
            {"radius_fraction", radiusFraction},
            {"par_iterations", parIterations},
            {"par_dilations", parDilations},
            {"par_reference_size", parReferenceSize},
            {"affinity_input", affinityInput},
            {"cam_normalization", camNormalization},
            {"seg_scales", segScales},
            {"aff_background", affBackground},
            {"affinity_blocks", affinityBlocks},
            {"cls_only_fraction", clsOnlyFraction},
            {"seg_switch_fraction", segSwitchFraction},
            {"seg_weight", segWeight},
            {"reg_weight", regWeight},
            {"reg_sigma_rgb", regSigmaRgb},
            {"reg_sigma_xy", regSigmaXy},
            {"reg_scale", regScale},
            {"aff_weight", affWeight},
            {"head_channels", headChannels}};
}

const std::vector<std::string> &AfaConfig::keys()
{
    static const std::vector<std::string> names{
        "pooling",        "cam_scales",      "bg_high",           "bg_low",         "cam_bg_threshold",
        "radius",         "radius_fraction", "par_iterations",    "par_dilations",  "par_reference_size",
        "affinity_input", "aff_background",  "affinity_blocks",   "cls_only_fraction", "seg_switch_fraction",
        "seg_weight",     "aff_weight",      "head_channels",     "reg_weight",     "reg_sigma_rgb",
        "reg_sigma_xy",   "reg_scale",       "cam_normalization", "seg_scales"};
    return names;
}

AfaConfig AfaConfig::fromJson(const nlohmann::json &json)
{
    rejectUnknownKeys(json, "afa", keys());
    AfaConfig c;
    readKey(json, "pooling", c.pooling);
    readKey(json, "cam_scales", c.camScales);
    readKey(json, "bg_high", c.bgHigh);
    readKey(json, "bg_low", c.bgLow);
    readKey(json, "cam_bg_threshold", c.camBgThreshold);
    readKey(json, "radius", c.radius);
    readKey(json, "radius_fraction", c.radiusFraction);
    readKey(json, "par_iterations", c.parIterations);
    readKey(json, "par_dilations", c.parDilations);
    readKey(json, "par_reference_size", c.parReferenceSize);
    readKey(json, "affinity_input", c.affinityInput);
    readKey(json, "cam_normalization", c.camNormalization);
    readKey(json, "seg_scales", c.segScales);
    readKey(json, "aff_background", c.affBackground);
    readKey(json, "affinity_blocks", c.affinityBlocks);
    readKey(json, "cls_only_fraction", c.clsOnlyFraction);
    readKey(json, "seg_switch_fraction", c.segSwitchFraction);
    readKey(json, "seg_weight", c.segWeight);
    readKey(json, "aff_weight", c.affWeight);
    readKey(json, "head_channels", c.headChannels);
    readKey(json, "reg_weight", c.regWeight);
    readKey(json, "reg_sigma_rgb", c.regSigmaRgb);
    readKey(json, "reg_sigma_xy", c.regSigmaXy);
    readKey(json, "reg_scale", c.regScale);
    if (!(c.regWeight >= 0) || !(c.regSigmaRgb > 0) || !(c.regSigmaXy > 0) || !(c.regScale > 0 && c.regScale <= 1))
        throw Error("afa: need reg_weight >= 0, reg_sigma_rgb > 0, reg_sigma_xy > 0 and 0 < reg_scale <= 1");
    vision::poolingFromName(c.pooling); // validates
    vision::MultiScaleConfig{c.camScales}.validate();
    try {
        vision::MultiScaleConfig{c.segScales}.validate();
    } catch (const Error &e) {
        throw Error(std::string("afa: seg_scales: ") + e.what());
    }
    if (!(c.bgLow >= 0 && c.bgLow <= c.bgHigh && c.bgHigh <= 1))
        throw Error("afa: need 0 <= bg_low (" + std::to_string(c.bgLow) + ") <= bg_high (" + std::to_string(c.bgHigh) +
                    ") <= 1");
    if (c.radius < 0)
        throw Error("afa: radius " + std::to_string(c.radius) + " must be >= 0 (0: radius_fraction of the grid)");
    if (!(c.radiusFraction > 0 && c.radiusFraction <= 1))
        throw Error("afa: radius_fraction " + std::to_string(c.radiusFraction) + " is outside (0, 1]");
    if (c.parIterations < 0)
        throw Error("afa: par_iterations " + std::to_string(c.parIterations) + " must be >= 0");
    vision::ParConfig par;
    par.dilations = c.parDilations;
    par.validate(); // names a bad dilation
    if (c.parReferenceSize < 0)
        throw Error("afa: par_reference_size " + std::to_string(c.parReferenceSize) + " must be >= 0");
    if (!c.affinityInput.empty() && c.affinityInput != "raw" && c.affinityInput != "scaled" &&
        c.affinityInput != "standardized")
        throw Error("afa: affinity_input \"" + c.affinityInput + "\" is not raw, scaled or standardized");
    if (c.camNormalization != "min_max" && c.camNormalization != "relu_max")
        throw Error("afa: cam_normalization \"" + c.camNormalization + "\" is not min_max or relu_max");
    if (c.affBackground != "propagated" && c.affBackground != "rule")
        throw Error("afa: aff_background \"" + c.affBackground + "\" is not propagated or rule");
    if (c.affinityBlocks < 1)
        throw Error("afa: affinity_blocks " + std::to_string(c.affinityBlocks) + " must be at least 1");
    if (!(c.clsOnlyFraction >= 0 && c.clsOnlyFraction <= c.segSwitchFraction && c.segSwitchFraction <= 1))
        throw Error("afa: need 0 <= cls_only_fraction <= seg_switch_fraction <= 1");
    if (c.headChannels <= 0)
        throw Error("afa: head_channels must be positive");
    return c;
}

int AfaConfig::radiusFor(std::int64_t gridH, std::int64_t gridW) const
{
    if (radius > 0)
        return radius;
    return std::max(1, static_cast<int>(std::lround(radiusFraction * static_cast<double>(std::min(gridH, gridW)))));
}

std::vector<int> AfaConfig::parDilationsFor(std::int64_t side) const
{
    if (parReferenceSize == 0)
        return parDilations;
    return vision::scaledDilations(parDilations, static_cast<double>(side) / parReferenceSize);
}

AffinityHeadImpl::AffinityHeadImpl(int channels, bool standardize) : m_standardize(standardize)
{
    m_proj = register_module("proj", torch::nn::Conv2d(torch::nn::Conv2dOptions(channels, 1, 1)));
    // The official init: kaiming_normal(a=√5, fan_out) on a 1-output 1×1 conv is std √(1/3).
    torch::NoGradGuard noGrad;
    m_proj->weight.normal_(0.0, std::sqrt(2.0 / 6.0));
}

torch::Tensor AffinityHeadImpl::forward(const torch::Tensor &logits)
{
    auto s = logits + logits.transpose(-2, -1);
    if (m_standardize) {
        // Per image and channel over the N×N pairs (an instance norm without affine): the conv
        // then starts near the sigmoid's linear range whatever the logits' spread.
        const auto mean = s.mean({-2, -1}, /*keepdim=*/true);
        const auto std = (s - mean).pow(2).mean({-2, -1}, /*keepdim=*/true).add(1e-5).sqrt();
        s = (s - mean) / std;
    }
    return torch::sigmoid(m_proj(s)).squeeze(1);
}

AfaMethod::AfaMethod(const MethodSpec &spec) : AfaMethod(spec, AfaConfig::fromJson(spec.config)) {}

AfaMethod::AfaMethod(const MethodSpec &spec, AfaConfig config)
    : m_config(std::move(config)), m_pooling(vision::poolingFromName(m_config.pooling))
{
    if (m_config.affinityInput.empty()) // resolved here, so the stored config says which
        m_config.affinityInput = vision::isMitBackbone(spec.backbone) ? "raw" : "standardized";
    const bool standardize = m_config.affinityInput == "standardized";
    if (vision::isMitBackbone(spec.backbone)) {
        // The official network: stage 4 at stride 1 (1/16), its blocks' logits into the affinity
        // head, SegFormer's decoder over the four stages.
        auto mit = vision::mitPreset(spec.backbone);
        mit.lastStride = 1;
        setBackbone(std::make_shared<vision::MixTransformerImpl>(mit));
    } else {
        setBackbone(vision::makeBackbone(spec.backbone));
    }
    const auto info = m_backbone->info();
    // A pyramid backbone has its blocks' logits only in the last stage: the official code feeds
    // all of them (afa.md §3.1); on a ViT the last affinity_blocks blocks.
    if (!info.stageChannels.empty() && m_config.affinityBlocks != info.affinityBlocks)
        throw Error("afa: affinity_blocks " + std::to_string(m_config.affinityBlocks) + " must be the " +
                    std::to_string(info.affinityBlocks) + " blocks of " + spec.backbone + "'s last stage");
    if (m_config.affinityBlocks > info.affinityBlocks)
        throw Error("afa: affinity_blocks " + std::to_string(m_config.affinityBlocks) + " exceeds the " +
                    std::to_string(info.affinityBlocks) + " blocks of " + spec.backbone);
    m_classifier = register_module(
        "classifier", torch::nn::Conv2d(torch::nn::Conv2dOptions(info.channels, spec.numClasses, 1).bias(false)));
    m_affinityHead =
        register_module("affinity_head", AffinityHead(m_config.affinityBlocks * info.affinityHeads, standardize));
    if (!info.stageChannels.empty()) {
        vision::SegformerHeadConfig head;
        std::copy(info.stageChannels.begin(), info.stageChannels.end(), head.inChannels.begin());
        head.embedDim = m_config.headChannels;
        head.numClasses = spec.numClasses + 1;
        m_segformer = register_module("seg_head", vision::SegformerHead(head));
    } else {
        m_segDropout = register_module("seg_dropout", torch::nn::Dropout2d(0.1));
        m_segHead = register_module("seg_head", vision::SegHead(info.channels, m_config.headChannels, spec.numClasses + 1));
    }
}

TrainRecipe AfaMethod::recipe() const
{
    // PolyWarmupAdamW (afa.md §11): heads 6e-4, backbone 6e-5, weight decay 0.01, 1500 of 20000
    // steps of warm-up from 1e-6×, then the un-shifted poly with power 1.
    TrainRecipe r;
    r.optimizer = "adamw";
    r.lr = 6e-4;
    r.backboneLrScale = 0.1;
    r.weightDecay = 0.01;
    r.warmupFraction = 1500.0 / 20000.0;
    r.warmupRatio = 1e-6;
    r.polyPower = 1.0;
    return r;
}

std::vector<torch::optim::OptimizerParamGroup> AfaMethod::parameterGroups(const TrainRecipe &recipe)
{
    std::vector<torch::Tensor> backbone, heads;
    for (const auto &p : named_parameters(true)) {
        const std::string &key = p.key();
        if (key.rfind("backbone.", 0) == 0) {
            if (key.find("norm") == std::string::npos) // the official code gives LayerNorms lr 0
                backbone.push_back(p.value());
        } else {
            heads.push_back(p.value());
        }
    }
    std::vector<torch::optim::OptimizerParamGroup> out;
    out.emplace_back(backbone, optimizerOptions(recipe, recipe.lr * recipe.backboneLrScale, recipe.weightDecay));
    out.emplace_back(heads, optimizerOptions(recipe, recipe.lr, recipe.weightDecay));
    return out;
}

torch::Tensor AfaMethod::segment(const Forward &f)
{
    // Two decoders: SegFormer's MLP head over a pyramid's stages, the official ViT variant's conv
    // head over the patch features.
    return m_segformer ? m_segformer(f.stages) : m_segHead(m_segDropout(f.features));
}

AfaMethod::Forward AfaMethod::forward(const torch::Tensor &images, const vision::CaptureRequest &extra,
                                      vision::BackboneOutput *backboneOut)
{
    const auto info = m_backbone->info();
    vision::CaptureRequest request = extra;
    request.logits = true;
    if (!extra.any())
        for (int i = m_config.affinityBlocks; i >= 1; --i)
            request.layers.push_back(-i);
    auto out = m_backbone->forward(images, request);

    // The official code reads the raw Q·Kᵀ (no 1/√d) of the patch tokens; the captures are scaled.
    const int first = static_cast<int>(out.capturedLayers.empty() ? 0 : out.capturedLayers.back()) -
                      m_config.affinityBlocks + 1;
    const double unscale = m_config.affinityInput == "scaled" ? 1.0 : std::sqrt(static_cast<double>(info.headDim));
    std::vector<torch::Tensor> logits;
    for (std::size_t i = 0; i < out.capturedLayers.size(); ++i)
        if (out.capturedLayers[i] >= first && i < out.logits.size())
            logits.push_back(out.logits[i].slice(2, info.prefixTokens).slice(3, info.prefixTokens) * unscale);

    Forward f;
    f.stages = out.stages;
    f.features = out.patchFeatures();
    f.cams = vision::classActivationMaps(f.features, m_classifier->weight);
    f.logits = vision::globalPool(f.cams, m_pooling);
    f.affinity = m_affinityHead(torch::cat(logits, 1));
    if (backboneOut) {
        out.logits.clear(); // the studio asked for attention, not for these
        *backboneOut = std::move(out);
    }
    return f;
}

torch::Tensor AfaMethod::multiScaleCams(const torch::Tensor &images, torch::Tensor *largestAffinity,
                                        std::int64_t *gridH, std::int64_t *gridW)
{
    vision::MultiScaleConfig config;
    config.scales = m_config.camScales;
    config.merge = vision::FlipMerge::Max;
    config.relu = m_config.camNormalization == "relu_max";
    config.sizeMultiple = m_backbone->info().inputMultiple; // MiT takes any size
    const auto largest = std::max_element(config.scales.begin(), config.scales.end()) - config.scales.begin();
    const auto B = images.size(0);
    std::ptrdiff_t call = 0;
    return vision::multiScaleMaps(
        [&](const torch::Tensor &x) {
            auto f = forward(x);
            if (call++ == largest && largestAffinity) {
                *largestAffinity = f.affinity.slice(0, 0, B);
                *gridH = f.cams.size(2);
                *gridW = f.cams.size(3);
            }
            return f.cams;
        },
        images, config);
}

torch::Tensor AfaMethod::multiScaleSegment(const torch::Tensor &images, const Forward &main)
{
    auto logits = segment(main);
    const auto &scales = m_config.segScales;
    if (scales.size() == 1 && scales[0] == 1.0)
        return logits;
    // test_msc_flip.py: per scale the mean of the flip pair, at the scale-1 logit size, the
    // maximum over scales; logits, so no ReLU and no normalisation.
    vision::MultiScaleConfig config;
    config.scales = scales;
    config.merge = vision::FlipMerge::Mean;
    config.scaleMerge = vision::ScaleMerge::Max;
    config.relu = false;
    config.normalize = false;
    config.sizeMultiple = m_backbone->info().inputMultiple;
    config.outputHeight = logits.size(2);
    config.outputWidth = logits.size(3);
    return vision::multiScaleMaps([&](const torch::Tensor &x) { return segment(forward(x)); }, images, config);
}

AfaMethod::Targets AfaMethod::targets(const Batch &batch, const Forward &main)
{
    const auto B = batch.images.size(0), H = batch.images.size(2), W = batch.images.size(3);
    const auto K = batch.labels.size(1);
    const auto segSwitch = static_cast<std::int64_t>(std::lround(m_config.segSwitchFraction * batch.totalSteps));
    // Geometry of the official 512-px crop (grid 32, PAR on 256 px) scaled to this batch's.
    const auto gh0 = main.cams.size(2), gw0 = main.cams.size(3);
    vision::RandomWalkConfig walk;
    walk.radius = m_config.radiusFor(gh0, gw0);
    vision::RefinedLabelConfig labelConfig;
    labelConfig.high = m_config.bgHigh;
    labelConfig.low = m_config.bgLow;
    labelConfig.par.iterations = m_config.parIterations;
    labelConfig.par.dilations = m_config.parDilationsFor(std::min(H, W) / labelConfig.downscale);

    // No gradients, and (as the official code) the model stays in train mode.
    torch::NoGradGuard noGrad;
    const auto norm = backboneInfo().norm;
    const auto image = vision::denormalizeTo8Bit(batch.images, norm.mean, norm.std);
    torch::Tensor affinity;
    std::int64_t gh = 0, gw = 0;
    const auto allCams = multiScaleCams(batch.images, &affinity, &gh, &gw);
    const auto cams = allCams * batch.labels.view({B, K, 1, 1});
    auto pseudo = vision::refineCamsWithBackground(image, cams, batch.labels, labelConfig);
    auto seg = pseudo;
    if (batch.step > segSwitch) {
        const auto small = vision::resizeMaps(cams, gh, gw);
        auto high = vision::propagateWithBackground(small, affinity, batch.labels, m_config.bgHigh, walk);
        auto low = vision::propagateWithBackground(small, affinity, batch.labels, m_config.bgLow, walk);
        seg = vision::refinePropagatedMaps(image, vision::resizeMaps(high, H, W), vision::resizeMaps(low, H, W),
                                           batch.labels, labelConfig);
    }
    if (batch.valid.defined()) { // the official img_box: padding is 255 in every label
        const auto padding = batch.valid.to(pseudo.device()).logical_not();
        pseudo = pseudo.masked_fill(padding, 255);
        seg = seg.masked_fill(padding, 255);
    }
    Targets t;
    t.seg = seg;
    t.affinity = vision::affinityLabels(pseudo, gh0, gw0, walk.radius);
    t.pseudo = pseudo;
    t.cams = allCams;
    t.image = image;
    t.ignored = (seg == 255).to(torch::kFloat).mean().item<double>();
    return t;
}

StepResult AfaMethod::trainStep(const Batch &batch)
{
    const auto H = batch.images.size(2), W = batch.images.size(3);
    auto main = forward(batch.images);
    StepResult r;
    r.losses["cls"] = multilabelSoftMarginLoss(main.logits, batch.labels);

    // The official schedule, scaled to the run: classification only up to 10 % of the steps,
    // then the seg head learns the PAR-refined CAM labels, and after 30 % the propagated ones.
    const auto clsOnly = static_cast<std::int64_t>(std::lround(m_config.clsOnlyFraction * batch.totalSteps));
    if (batch.step <= clsOnly)
        return r;

    const auto target = targets(batch, main);
    r.logs["ignored"] = target.ignored;
    const auto segLogits = vision::resizeMaps(segment(main), H, W);
    r.losses["seg"] = m_config.segWeight * balancedSegLoss(segLogits, target.seg);
    r.losses["aff"] = m_config.affWeight * affinityLoss(main.affinity, target.affinity);
    if (m_config.regWeight > 0) {
        // The seg head's softmax against the image in 0..255 and the seg labels' unlabelled pixels.
        const auto norm = backboneInfo().norm;
        const auto opts = batch.images.options();
        const auto mean = torch::tensor(std::vector<float>(norm.mean.begin(), norm.mean.end())).to(opts).view({1, 3, 1, 1});
        const auto std = torch::tensor(std::vector<float>(norm.std.begin(), norm.std.end())).to(opts).view({1, 3, 1, 1});
        const auto rgb255 = (batch.images.detach() * std + mean) * 255;
        const DenseEnergyConfig energy{m_config.regSigmaRgb, m_config.regSigmaXy, m_config.regScale};
        r.losses["reg"] =
            m_config.regWeight * kRegInnerWeight * denseEnergyLoss(segLogits.softmax(1), rgb255, target.seg, energy);
    }
    return r;
}

torch::Tensor AfaMethod::presentClasses(const torch::Tensor &labels, const torch::Tensor &scores)
{
    torch::Tensor present = labels.defined() ? labels.to(scores.dtype()).view({1, -1})
                                             : (scores > 0.5).to(scores.dtype()).view({1, -1});
    if (present.sum().item<double>() == 0)
        present.view({-1})[scores.argmax().item<std::int64_t>()] = 1;
    return present;
}

MethodOutput AfaMethod::infer(const torch::Tensor &image, bool captureAttention, const torch::Tensor &labels)
{
    return inferWith(image, captureAttention, labels, nullptr);
}

MethodOutput AfaMethod::inferMaps(const torch::Tensor &image, const torch::Tensor &labels,
                                  const std::set<std::string> &kinds)
{
    return inferWith(image, false, labels, nullptr, &kinds);
}

MethodOutput AfaMethod::inferWith(const torch::Tensor &image, bool captureAttention, const torch::Tensor &labels,
                                  Forward *mainOut, const std::set<std::string> *only)
{
    const auto H = image.size(2), W = image.size(3);
    vision::BackboneOutput out;
    const auto info = m_backbone->info();
    // The studio's attention views are a ViT's (info.depth 0: nothing to show).
    auto main = forward(image, inspectionCapture(captureAttention && info.depth > 0, info, H, W), &out);
    MethodOutput result;
    result.gridHeight = main.cams.size(2);
    result.gridWidth = main.cams.size(3);
    result.scores = torch::sigmoid(main.logits)[0];

    const auto present = presentClasses(labels, result.scores);

    // CAM seeds (multi-scale + flip), and their random walk over the learned affinity of the
    // single-scale pass with background β_l, as the official validation scores "aff cams": the
    // argmax over the walked [background; classes] (unless aff_background is "rule").
    vision::RandomWalkConfig walk;
    walk.radius = m_config.radiusFor(result.gridHeight, result.gridWidth);
    if (makesMap(only, "cam") || makesMap(only, "aff")) {
        const auto cams = multiScaleCams(image, nullptr, nullptr, nullptr);
        result.maps["cam"] = cams[0];
        if (makesMap(only, "aff")) {
            const auto small =
                vision::resizeMaps(cams * present.view({1, -1, 1, 1}), result.gridHeight, result.gridWidth);
            const auto propagated = vision::resizeMaps(
                vision::propagateWithBackground(small, main.affinity, present, m_config.bgLow, walk), H, W)[0];
            result.maps["aff"] = propagated.slice(0, 1);
            if (m_config.affBackground == "propagated")
                result.backgrounds["aff"] = propagated[0];
        }
    }
    if (!only) { // the studio's
        result.affinities["afa"] = main.affinity[0];
        result.affinities["transition"] =
            vision::transitionMatrix(main.affinity[0], result.gridHeight, result.gridWidth, walk);
    }
    if (makesMap(only, "seg")) {
        const auto probs = vision::resizeMaps(multiScaleSegment(image, main), H, W).softmax(1)[0];
        result.backgrounds["seg"] = probs[0];
        result.maps["seg"] = probs.slice(0, 1);
    }
    takeAttention(out, info, result);
    if (mainOut)
        *mainOut = std::move(main);
    return result;
}

} // namespace wsss::training
