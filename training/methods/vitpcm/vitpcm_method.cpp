#include "training/methods/vitpcm/vitpcm_method.h"

#include "training/methods/config_json.h"
#include "vision/backbones/backbone_registry.h"
#include "vision/core/error.h"
#include "vision/maps/pcm_maps.h"

#include <torch/torch.h>

#include <algorithm>
#include <cmath>

namespace wsss::training {

namespace F = torch::nn::functional;

// ---- VitPcmConfig ----------------------------------------------------------------------------

VitPcmConfig VitPcmConfig::paper()
{
    // vitpcm.md §9: "first two epochs" of warm-up, "last four backbone layers", L2 1e-1,
    // "standard Gaussian" classifier init.
    VitPcmConfig c;
    c.preset = "paper";
    c.warmupFraction = 2.0 / 80.0;
    c.unfreezeBlocksFraction = 4.0 / 12.0;
    c.l2 = 0.1;
    c.classifierInitStd = 1.0;
    return c;
}

VitPcmConfig VitPcmConfig::fromJson(const nlohmann::json &json)
{
    rejectUnknownKeys(json, "vitpcm",
                      {"preset", "hv_bilstm", "hidden", "dropout", "lstm_dropout", "vit_dropout", "infer_scale", "pcm_background",
                       "classifier_init_std", "l2", "lr", "backbone_lr_scale", "warmup_fraction", "unfreeze_blocks",
                       "unfreeze_blocks_fraction", "equivariance", "mosaic", "et_scale", "crop_probability", "crop_fraction", "flip_probability"});
    VitPcmConfig c = presetConfig<VitPcmConfig>(json, "vitpcm");
    readKey(json, "hv_bilstm", c.hvBiLstm);
    readKey(json, "hidden", c.hidden);
    readKey(json, "dropout", c.dropout);
    readKey(json, "lstm_dropout", c.lstmDropout);
    readKey(json, "vit_dropout", c.vitDropout);
    readKey(json, "infer_scale", c.inferScale);
    readKey(json, "pcm_background", c.pcmBackground);
    readKey(json, "classifier_init_std", c.classifierInitStd);
    readKey(json, "l2", c.l2);
    readKey(json, "lr", c.lr);
    readKey(json, "backbone_lr_scale", c.backboneLrScale);
    readKey(json, "warmup_fraction", c.warmupFraction);
    readKey(json, "unfreeze_blocks", c.unfreezeBlocks);
    readKey(json, "unfreeze_blocks_fraction", c.unfreezeBlocksFraction);
    readKey(json, "equivariance", c.equivariance);
    readKey(json, "mosaic", c.mosaic);
    readKey(json, "et_scale", c.etScale);
    readKey(json, "crop_probability", c.cropProbability);
    readKey(json, "crop_fraction", c.cropFraction);
    readKey(json, "flip_probability", c.flipProbability);
    c.validate();
    return c;
}

nlohmann::json VitPcmConfig::toJson() const
{
    return {{"preset", preset},
            {"hv_bilstm", hvBiLstm},
            {"hidden", hidden},
            {"dropout", dropout},
            {"lstm_dropout", lstmDropout},
            {"vit_dropout", vitDropout},
            {"infer_scale", inferScale},
            {"pcm_background", pcmBackground},
            {"classifier_init_std", classifierInitStd},
            {"l2", l2},
            {"lr", lr},
            {"backbone_lr_scale", backboneLrScale},
            {"warmup_fraction", warmupFraction},
            {"unfreeze_blocks", unfreezeBlocks},
            {"unfreeze_blocks_fraction", unfreezeBlocksFraction},
            {"equivariance", equivariance},
            {"mosaic", mosaic},
            {"et_scale", etScale},
            {"crop_probability", cropProbability},
            {"crop_fraction", cropFraction},
            {"flip_probability", flipProbability}};
}

void VitPcmConfig::validate() const
{
    auto fail = [](const std::string &key, double value, const std::string &range) {
        throw Error("vitpcm: " + key + " " + std::to_string(value) + " is outside " + range);
    };
    if (hidden < 1)
        fail("hidden", hidden, "[1, ∞)");
    if (!(dropout >= 0 && dropout < 1))
        fail("dropout", dropout, "[0, 1)");
    if (!(lstmDropout >= 0 && lstmDropout < 1))
        fail("lstm_dropout", lstmDropout, "[0, 1)");
    if (!(vitDropout >= 0 && vitDropout < 1))
        fail("vit_dropout", vitDropout, "[0, 1)");
    if (!(inferScale > 0) || !std::isfinite(inferScale))
        fail("infer_scale", inferScale, "(0, ∞)");
    if (pcmBackground != "own" && pcmBackground != "rule")
        throw Error("vitpcm: pcm_background \"" + pcmBackground + "\" is not own or rule");
    if (!(classifierInitStd > 0) || !std::isfinite(classifierInitStd))
        fail("classifier_init_std", classifierInitStd, "(0, ∞)");
    if (!(l2 >= 0) || !std::isfinite(l2))
        fail("l2", l2, "[0, ∞)");
    if (!(lr > 0) || !std::isfinite(lr))
        fail("lr", lr, "(0, ∞)");
    if (!(backboneLrScale >= 0) || !std::isfinite(backboneLrScale))
        fail("backbone_lr_scale", backboneLrScale, "[0, ∞)");
    if (!(warmupFraction >= 0 && warmupFraction < 1))
        fail("warmup_fraction", warmupFraction, "[0, 1)");
    if (unfreezeBlocks < 0)
        fail("unfreeze_blocks", unfreezeBlocks, "[0, depth] (0: unfreeze_blocks_fraction of the depth)");
    if (!(unfreezeBlocksFraction > 0 && unfreezeBlocksFraction <= 1))
        fail("unfreeze_blocks_fraction", unfreezeBlocksFraction, "(0, 1]");
    if (!(etScale > 0 && etScale <= 1))
        fail("et_scale", etScale, "(0, 1]");
    if (!(cropProbability >= 0 && cropProbability <= 1))
        fail("crop_probability", cropProbability, "[0, 1]");
    if (!(cropFraction > 0 && cropFraction <= 1))
        fail("crop_fraction", cropFraction, "(0, 1]");
    if (!(flipProbability >= 0 && flipProbability <= 1))
        fail("flip_probability", flipProbability, "[0, 1]");
}

int VitPcmConfig::unfreezeBlocksFor(int depth) const
{
    if (unfreezeBlocks > 0)
        return unfreezeBlocks;
    return std::clamp(static_cast<int>(std::lround(unfreezeBlocksFraction * depth)), 1, std::max(depth, 1));
}

std::int64_t VitPcmConfig::warmupStepsFor(std::int64_t totalSteps) const
{
    if (warmupFraction <= 0)
        return 0;
    return std::max<std::int64_t>(1, static_cast<std::int64_t>(std::ceil(warmupFraction * totalSteps)));
}

TrainRecipe VitPcmConfig::recipe() const
{
    // Keras Adam, constant lr, no weight decay, no clipping (vitpcm.md §6). LibTorch's Adam ε is
    // 1e-8, Keras' 1e-7.
    TrainRecipe r;
    r.optimizer = "adamw";
    r.lr = lr;
    r.backboneLrScale = backboneLrScale;
    r.weightDecay = 0.0;
    r.warmup = 0;
    r.warmupFraction = 0;
    r.polyPower = 0.0; // (1 − t/T)^0 = 1: constant
    return r;
}

// ---- VitPcmMethod ----------------------------------------------------------------------------

VitPcmMethod::VitPcmMethod(const MethodSpec &spec) : m_config(VitPcmConfig::fromJson(spec.config))
{
    setBackbone(vision::makeBackbone(spec.backbone));
    const auto &vc = requireVit("vitpcm").config(); // its blocks are frozen and unfrozen by name
    m_unfreezeBlocks = m_config.unfreezeBlocksFor(vc.depth);
    if (m_unfreezeBlocks > vc.depth)
        throw Error("vitpcm: unfreeze_blocks " + std::to_string(m_unfreezeBlocks) + " exceeds the " +
                    std::to_string(vc.depth) + " blocks of backbone \"" + spec.backbone + "\"");
    m_patch = m_backbone->info().stride;
    VitPcmHeadOptions ho;
    ho.inDim = m_backbone->info().channels;
    ho.classes = spec.numClasses + 1;
    ho.hvBiLstm = m_config.hvBiLstm;
    ho.hidden = m_config.hidden;
    ho.dropout = m_config.dropout;
    ho.lstmDropout = m_config.lstmDropout;
    ho.initStd = m_config.classifierInitStd;
    m_head = register_module("head", VitPcmHead(ho));
}

torch::Tensor VitPcmMethod::patchClassMaps(const torch::Tensor &images)
{
    // The final LayerNorm's tokens, class token dropped (model.ViT, vitpcm.md §3).
    return vision::patchClassMaps(m_head(m_backbone->forward(images, {}, dropRates()).patchFeatures()));
}

void VitPcmMethod::setWarmup(bool warmup)
{
    const int first = vit()->config().depth - m_unfreezeBlocks;
    for (auto &p : m_backbone->named_parameters(true)) {
        const std::string &key = p.key();
        bool trainable = false;
        if (!warmup) {
            // encoderblock_7..11 and Transformer/encoder_norm in the official unfreeze().
            if (key.rfind("norm.", 0) == 0) {
                trainable = true;
            } else if (key.rfind("blocks.", 0) == 0) {
                const auto dot = key.find('.', 7);
                trainable = std::stoi(key.substr(7, dot - 7)) >= first;
            }
        }
        p.value().set_requires_grad(trainable);
    }
}

bool VitPcmMethod::inWarmup(std::int64_t step, std::int64_t totalSteps) const
{
    return step < m_config.warmupStepsFor(totalSteps);
}

std::vector<torch::optim::OptimizerParamGroup> VitPcmMethod::parameterGroups(const TrainRecipe &recipe)
{
    // Only the backbone's flags: the HV-BiLSTM's bias_hh stays out for good (Keras has one bias).
    std::vector<std::pair<torch::Tensor, bool>> saved;
    for (auto &p : m_backbone->parameters(true)) {
        saved.emplace_back(p, p.requires_grad());
        p.set_requires_grad(true);
    }
    auto groups = Method::parameterGroups(recipe);
    for (auto &[p, flag] : saved)
        p.set_requires_grad(flag);
    return groups;
}

std::vector<ViewGeometry> VitPcmMethod::sampleGeometries(std::int64_t count, std::int64_t gridH, std::int64_t gridW,
                                                         std::int64_t viewH, std::int64_t viewW) const
{
    auto chance = [](double p) { return p > 0 && torch::rand({1}).item<double>() < p; };
    // The official crop: 8 of 24 patches, top-left drawn from {0, …, 24} then clamped to 16
    // (so the last position is over-represented; vitpcm.md §5 branch 2).
    const auto cropH = std::clamp<std::int64_t>(std::lround(m_config.cropFraction * gridH), 1, gridH);
    const auto cropW = std::clamp<std::int64_t>(std::lround(m_config.cropFraction * gridW), 1, gridW);
    std::vector<ViewGeometry> out(static_cast<std::size_t>(count));
    for (auto &g : out) {
        if (chance(m_config.cropProbability)) {
            g.cropHeight = cropH, g.cropWidth = cropW;
            g.cropY = std::min(torch::randint(gridH + 1, {1}).item<std::int64_t>(), gridH - cropH);
            g.cropX = std::min(torch::randint(gridW + 1, {1}).item<std::int64_t>(), gridW - cropW);
        }
        g.flipLr = chance(m_config.flipProbability);
        g.flipUd = chance(m_config.flipProbability);
        g.transpose = viewH == viewW && chance(m_config.flipProbability);
    }
    return out;
}

vision::DropRates VitPcmMethod::dropRates() const
{
    vision::DropRates rates;
    rates.dropout = m_config.vitDropout;
    return rates;
}

torch::Tensor VitPcmMethod::inferInput(const torch::Tensor &image) const
{
    // 384 → 960 px in the official test (60×60 patches); resized as the official pil2vit path
    // does (bilinear, align_corners=True), whole patches.
    auto side = [&](std::int64_t n) {
        return std::max<std::int64_t>(1, std::lround(static_cast<double>(n) * m_config.inferScale / m_patch)) * m_patch;
    };
    const auto h = side(image.size(2)), w = side(image.size(3));
    if (h == image.size(2) && w == image.size(3))
        return image;
    return F::interpolate(image, F::InterpolateFuncOptions()
                                     .size(std::vector<std::int64_t>{h, w})
                                     .mode(torch::kBilinear)
                                     .align_corners(true));
}

std::pair<torch::Tensor, torch::Tensor> VitPcmMethod::equivarianceTerm(const torch::Tensor &images,
                                                                       const torch::Tensor &labels,
                                                                       const std::vector<ViewGeometry> &geometries,
                                                                       std::int64_t viewH, std::int64_t viewW)
{
    // Teacher (vitpcm.md §4.3 steps 1–4): eval mode, no gradient, mapped into each view's frame
    // at patch level, then merge_class_labels.
    torch::Tensor target;
    {
        torch::NoGradGuard noGrad;
        const bool wasTraining = is_training();
        eval();
        const auto teacher = patchClassMaps(images);
        train(wasTraining);
        const auto mapped = applyViewGeometry(teacher, geometries, 1, viewH, viewW);
        target = vision::labelMaskedPatchClassMaps(mapped, vision::withBackgroundBit(labels.to(mapped.scalar_type())));
    }
    // Student (step 5): the same geometry on the pixels, then 2×2 mosaics (the HV-BiLSTM sees
    // across tile borders, as in the official code) or each view alone.
    const auto views = applyViewGeometry(images, geometries, m_patch, viewH * m_patch, viewW * m_patch);
    const auto student = m_config.mosaic ? splitMosaics(patchClassMaps(makeMosaics(views)), images.size(0))
                                         : patchClassMaps(views);
    return {equivarianceLoss(student, target), equivarianceGap(student.detach(), target)};
}

StepResult VitPcmMethod::trainStep(const Batch &batch)
{
    const bool warmup = inWarmup(batch.step, batch.totalSteps);
    setWarmup(warmup);

    const auto out = m_backbone->forward(batch.images, {}, dropRates());
    const auto maps = vision::patchClassMaps(m_head(out.patchFeatures())); // Z [B, C, h, w]
    const auto scores = maps.amax({2, 3});                                 // GMP → y [B, C]
    StepResult r;
    r.losses["mce"] = multilabelBceLoss(scores, vision::withBackgroundBit(batch.labels.to(scores.scalar_type())));
    if (m_config.l2 > 0)
        r.losses["reg"] = l2Loss(m_head->classifierWeight(), m_config.l2);
    if (m_config.equivariance) {
        const auto gh = out.gridHeight, gw = out.gridWidth;
        const auto viewH = std::max<std::int64_t>(1, std::lround(m_config.etScale * gh));
        const auto viewW = std::max<std::int64_t>(1, std::lround(m_config.etScale * gw));
        const auto geometries = sampleGeometries(batch.images.size(0), gh, gw, viewH, viewW);
        auto [et, gap] = equivarianceTerm(batch.images, batch.labels, geometries, viewH, viewW);
        r.losses["et"] = et;
        r.logs["et_kl"] = gap.item<double>();
    }
    r.logs["warmup"] = warmup ? 1.0 : 0.0;
    return r;
}

MethodOutput VitPcmMethod::infer(const torch::Tensor &image, bool captureAttention, const torch::Tensor &labels)
{
    const auto H = image.size(2), W = image.size(3);
    const auto scaled = inferInput(image);
    auto out = m_backbone->forward(scaled, inspectionCapture(captureAttention, m_backbone->info(), scaled.size(2),
                                                             scaled.size(3)));
    auto z = vision::patchClassMaps(m_head(out.patchFeatures())); // [1, C, h, w]
    MethodOutput result;
    result.gridHeight = out.gridHeight;
    result.gridWidth = out.gridWidth;
    result.scores = z.amax({2, 3})[0].slice(0, 1); // GMP, foreground classes
    // Z at infer_scale × the input, upsampled back below. With the image's labels,
    // merge_class_labels (vitpcm.md §7 step 3); without, Z raw, as on the official test split.
    if (labels.defined())
        z = vision::labelMaskedPatchClassMaps(z, vision::withBackgroundBit(labels.to(z.scalar_type()).view({1, -1})));
    // Upsampled as vision::patchClassPseudoMask does, so the argmax over [background; maps] is the BPM.
    const auto sized = F::interpolate(z, F::InterpolateFuncOptions()
                                             .size(std::vector<std::int64_t>{H, W})
                                             .mode(torch::kBilinear)
                                             .align_corners(true))[0];
    result.maps["pcm"] = sized.slice(0, 1);
    if (m_config.pcmBackground == "own")
        result.backgrounds["pcm"] = sized[0];
    takeAttention(out, m_backbone->info(), result);
    return result;
}

} // namespace wsss::training
