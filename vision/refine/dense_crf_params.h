#pragma once
// The dense CRF's parameters and the named rows of METHODS.md §8.3. LibTorch-free: the studio's
// CRF preset box lists and describes them; the inference is vision/refine/dense_crf.h.
#include <nlohmann/json_fwd.hpp>

#include <string>
#include <vector>

namespace wsss::vision {

// Defaults are PSA-CRF's, used by ACR and USAGE (METHODS.md §8.3); denseCrfPreset() has the rest.
struct DenseCrfParams {
    float gaussianSxy = 3.0f;      // pixels, > 0: spatial std dev of the smoothness kernel
    float gaussianCompat = 3.0f;   // Potts weight of the smoothness kernel, finite; 0 switches it off
    float bilateralSxy = 80.0f;    // pixels, > 0: spatial std dev of the appearance kernel
    float bilateralSrgb = 13.0f;   // uint8 colour units, > 0: colour std dev of the appearance kernel
    float bilateralCompat = 10.0f; // Potts weight of the appearance kernel, finite; 0 switches it off
    int iterations = 10;           // mean-field steps, ≥ 0 (10 in every WSSS repository)

    void validate() const; // throws wsss::Error naming the field
    nlohmann::json toJson() const;
    static DenseCrfParams fromJson(const nlohmann::json &json); // unknown keys are errors
    // "Gaussian 3 px × 3; bilateral 80 px, 13 rgb × 10; 10 steps": for tool tips and logs.
    std::string summary() const;
};

// The parameter rows of METHODS.md §8.3: "psa" (= the defaults; also "acr", "usage"), "afa"
// (also "eca", unverified upstream), "vitpcm", "irn", "toco". Unknown names throw wsss::Error.
DenseCrfParams denseCrfPreset(const std::string &name);
std::vector<std::string> denseCrfPresetNames();
bool isDenseCrfPreset(const std::string &name);
std::string denseCrfPresetList(); // "psa, acr, …": the names for a message

} // namespace wsss::vision
