#include "training/methods/eca/eca_config.h"

#include "training/checkpoint/checkpoint.h"
#include "training/methods/config_json.h"
#include "training/methods/eca/eca_guider.h"
#include "vision/core/error.h"

#include <algorithm>
#include <cmath>

namespace wsss::training {

namespace {

// ECA's own keys (AFA's are taken beside them).
const std::vector<std::string> &ecaKeys()
{
    static const std::vector<std::string> names{
        "preset", "guider", "guider_backbone", "guider_scales", "seed_fraction", "affinity_threshold",
        "bg_affinity_threshold", "cue_threshold", "assignment_background", "bg_clamp_low", "bg_clamp_high",
        "soft_cue", "paper_assignment", "center_keys", "seed_unassigned", "prototype_momentum", "prototype_positions", "calibration_power",
        "calibration_min_classes", "paper_calibration", "sae_labels", "aff_carm_share", "cce_weight", "cce_start_fraction", "cce_crops", "cce_crop_fraction",
        "cce_downscale", "cce_loss", "jitter_brightness", "jitter_contrast", "jitter_saturation", "jitter_hue",
        "grayscale_probability", "flip_probability"};
    return names;
}

} // namespace

EcaConfig::EcaConfig()
{
    afa.clsOnlyFraction = 2000.0 / 18000.0;
    afa.segSwitchFraction = 6000.0 / 18000.0;
    afa.segScales = {1.0, 0.75, 1.25}; // test_final_eval.py (methods/eca.md §11)
}

EcaConfig EcaConfig::paper()
{
    EcaConfig c;
    c.afa.bgHigh = c.afa.bgLow = 0.5; // one background threshold α = 0.5 (§3.1), no ignore band
    c.carm.softCue = true;            // Eq. 5/7: the cosine cue, not the −0.5 gate
    c.carm.paperAssignment = true;    // Eq. 2–3: I_cam's background 1 − max M
    c.prototypes.paperCalibration = true; // Eq. 9–10
    c.saeLabels = "gt";
    c.affCarmShare = 1.0;             // "AL supervised by CARM"
    c.cceLoss = "js";                 // Eq. 11
    return c;
}

std::string EcaConfig::resolvedGuiderBackbone() const
{
    if (!guiderBackbone.empty())
        return guiderBackbone;
    if (!guider.empty() && isProjectCheckpoint(guider))
        return readCheckpointHeader(guider).backbone;
    return "dino_vit_small_patch8"; // the official guider
}

nlohmann::json EcaConfig::toJson() const
{
    auto j = afa.toJson();
    j.update({{"guider", guider},
              {"guider_backbone", guiderBackbone},
              {"guider_scales", guiderScales},
              {"seed_fraction", carm.seedFraction},
              {"affinity_threshold", carm.affinityThreshold},
              {"bg_affinity_threshold", carm.bgAffinityThreshold},
              {"cue_threshold", carm.cueThreshold},
              {"assignment_background", carm.assignmentBackground},
              {"bg_clamp_low", carm.bgClampLow},
              {"bg_clamp_high", carm.bgClampHigh},
              {"soft_cue", carm.softCue},
              {"paper_assignment", carm.paperAssignment},
              {"center_keys", carm.centerKeys},
              {"seed_unassigned", carm.seedUnassigned},
              {"prototype_momentum", prototypes.momentum},
              {"prototype_positions", prototypes.updatePositions},
              {"calibration_power", prototypes.power},
              {"calibration_min_classes", prototypes.minForegroundClasses},
              {"paper_calibration", prototypes.paperCalibration},
              {"sae_labels", saeLabels},
              {"aff_carm_share", affCarmShare},
              {"cce_weight", cceWeight},
              {"cce_start_fraction", cceStartFraction},
              {"cce_crops", cceCrops},
              {"cce_crop_fraction", cceCropFraction},
              {"cce_downscale", cceDownscale},
              {"cce_loss", cceLoss},
              {"jitter_brightness", jitterBrightness},
              {"jitter_contrast", jitterContrast},
              {"jitter_saturation", jitterSaturation},
              {"jitter_hue", jitterHue},
              {"grayscale_probability", grayscaleProbability},
              {"flip_probability", flipProbability}});
    return j;
}

EcaConfig EcaConfig::fromJson(const nlohmann::json &json)
{
    std::vector<std::string> known = ecaKeys();
    known.insert(known.end(), AfaConfig::keys().begin(), AfaConfig::keys().end());
    rejectUnknownKeys(json, "eca", known);
    EcaConfig c = presetConfig<EcaConfig>(json, "eca");
    // AFA's keys over ECA's defaults for them.
    auto afaJson = c.afa.toJson();
    for (const auto &key : AfaConfig::keys())
        if (json.contains(key))
            afaJson[key] = json.at(key);
    c.afa = AfaConfig::fromJson(afaJson);
    readKey(json, "guider", c.guider);
    readKey(json, "guider_backbone", c.guiderBackbone);
    readKey(json, "guider_scales", c.guiderScales);
    readKey(json, "seed_fraction", c.carm.seedFraction);
    readKey(json, "affinity_threshold", c.carm.affinityThreshold);
    readKey(json, "bg_affinity_threshold", c.carm.bgAffinityThreshold);
    readKey(json, "cue_threshold", c.carm.cueThreshold);
    readKey(json, "assignment_background", c.carm.assignmentBackground);
    readKey(json, "bg_clamp_low", c.carm.bgClampLow);
    readKey(json, "bg_clamp_high", c.carm.bgClampHigh);
    readKey(json, "soft_cue", c.carm.softCue);
    readKey(json, "paper_assignment", c.carm.paperAssignment);
    readKey(json, "center_keys", c.carm.centerKeys);
    readKey(json, "seed_unassigned", c.carm.seedUnassigned);
    readKey(json, "prototype_momentum", c.prototypes.momentum);
    readKey(json, "prototype_positions", c.prototypes.updatePositions);
    readKey(json, "calibration_power", c.prototypes.power);
    readKey(json, "calibration_min_classes", c.prototypes.minForegroundClasses);
    readKey(json, "paper_calibration", c.prototypes.paperCalibration);
    readKey(json, "sae_labels", c.saeLabels);
    readKey(json, "aff_carm_share", c.affCarmShare);
    readKey(json, "cce_weight", c.cceWeight);
    readKey(json, "cce_start_fraction", c.cceStartFraction);
    readKey(json, "cce_crops", c.cceCrops);
    readKey(json, "cce_crop_fraction", c.cceCropFraction);
    readKey(json, "cce_downscale", c.cceDownscale);
    readKey(json, "cce_loss", c.cceLoss);
    readKey(json, "jitter_brightness", c.jitterBrightness);
    readKey(json, "jitter_contrast", c.jitterContrast);
    readKey(json, "jitter_saturation", c.jitterSaturation);
    readKey(json, "jitter_hue", c.jitterHue);
    readKey(json, "grayscale_probability", c.grayscaleProbability);
    readKey(json, "flip_probability", c.flipProbability);
    c.validate();
    return c;
}

void EcaConfig::validate() const
{
    carm.validate();
    prototypes.validate();
    auto fail = [](const std::string &what) { throw Error("eca: " + what); };
    if (guiderScales.empty())
        fail("guider_scales is empty (official [1, 0.5])");
    for (double s : guiderScales)
        if (!(s > 0 && s <= 4))
            fail("guider scale " + std::to_string(s) + " is outside (0, 4]");
    if (saeLabels != "cam" && saeLabels != "gt")
        fail("sae_labels \"" + saeLabels + "\" is not cam or gt");
    if (!(cceWeight >= 0) || !std::isfinite(cceWeight))
        fail("cce_weight " + std::to_string(cceWeight) + " must be >= 0");
    if (!(affCarmShare >= 0 && affCarmShare <= 1))
        fail("aff_carm_share " + std::to_string(affCarmShare) + " is outside [0, 1]");
    if (!(cceStartFraction >= afa.clsOnlyFraction && cceStartFraction <= 1))
        fail("cce_start_fraction " + std::to_string(cceStartFraction) + " must be in [cls_only_fraction, 1]");
    if (cceCrops < 1)
        fail("cce_crops " + std::to_string(cceCrops) + " must be at least 1");
    if (!(cceCropFraction > 0 && cceCropFraction <= 1))
        fail("cce_crop_fraction " + std::to_string(cceCropFraction) + " is outside (0, 1]");
    if (cceDownscale < 1)
        fail("cce_downscale " + std::to_string(cceDownscale) + " must be at least 1");
    if (cceLoss != "abs_cosine" && cceLoss != "js")
        fail("cce_loss \"" + cceLoss + "\" is not abs_cosine or js");
    for (auto [name, v] : {std::pair{"jitter_brightness", jitterBrightness}, {"jitter_contrast", jitterContrast},
                           {"jitter_saturation", jitterSaturation}})
        if (!(v >= 0 && v <= 1))
            fail(std::string(name) + " " + std::to_string(v) + " is outside [0, 1]");
    if (!(jitterHue >= 0 && jitterHue <= 0.5))
        fail("jitter_hue " + std::to_string(jitterHue) + " is outside [0, 0.5]");
    if (!(grayscaleProbability >= 0 && grayscaleProbability <= 1) || !(flipProbability >= 0 && flipProbability <= 1))
        fail("grayscale_probability and flip_probability must be in [0, 1]");
}

} // namespace wsss::training
