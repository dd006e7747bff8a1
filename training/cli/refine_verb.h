#pragma once
// `wsss refine`: the refinement toolkit on class maps from any model. Reads an image and a
// [C, H, W] float32 .npy of its labelled classes' maps (any resolution), resizes the maps to the
// image (bilinear, align_corners=false), applies the chosen refinements at the image's own
// resolution and writes either the pseudo-mask (.png) or the refined maps (.npy).
#include "vision/labels/pseudo_label_rule.h"

#include <string>

namespace wsss::training {

struct RefineOptions {
    std::string image;          // the photo the maps belong to
    std::string maps;           // [C, H, W] float32 .npy, C = the image's labelled foreground classes
    std::string out;            // .png: palette pseudo-mask after the rule; .npy: refined maps, float32 [C, H, W]
    std::string labels;         // "a,b": class names or ids of the channels; empty: channel i → class i+1
    std::string band;           // "LO,HI": β_l/β_h band with 255 = ignore; empty: single threshold
    float bgThreshold = vision::kDefaultBgThreshold; // single-threshold background score
    bool par = false;           // PAR (AFA) on the maps at the image's resolution
    int parIterations = 10;     // PAR iterations when on
    bool crf = false;           // dense CRF on P = [t; maps] / sum (after PAR when both are on)
    std::string crfPreset = "psa"; // its parameters (vision/refine/dense_crf.h denseCrfPreset)
    std::string device = "auto"; // auto | cpu | cuda[:N]
};

// Throws wsss::Error naming the file or value at fault; writes nothing then.
void runRefine(const RefineOptions &options);

} // namespace wsss::training
