#include "vision/refine/dense_crf_params.h"

#include "vision/core/error.h"

#include <nlohmann/json.hpp>

#include <cmath>
#include <sstream>

namespace wsss::vision {

namespace {

struct NamedPreset {
    const char *name;
    DenseCrfParams params;
};

// METHODS.md §8.3; Gaussian sxy, compat; bilateral sxy, srgb, compat; 10 iterations each.
const NamedPreset kPresets[] = {
    {"psa", {3.0f, 3.0f, 80.0f, 13.0f, 10.0f, 10}},
    {"acr", {3.0f, 3.0f, 80.0f, 13.0f, 10.0f, 10}},
    {"usage", {3.0f, 3.0f, 80.0f, 13.0f, 10.0f, 10}},
    {"afa", {3.0f, 3.0f, 64.0f, 5.0f, 4.0f, 10}},
    {"eca", {3.0f, 3.0f, 64.0f, 5.0f, 4.0f, 10}},
    {"vitpcm", {1.0f, 3.0f, 67.0f, 3.0f, 4.0f, 10}},
    {"irn", {3.0f, 3.0f, 50.0f, 5.0f, 10.0f, 10}},
    {"toco", {1.0f, 1.0f, 121.0f, 5.0f, 4.0f, 10}},
};

void requirePositive(float value, const char *field)
{
    if (!(value > 0.0f && std::isfinite(value)))
        throw Error(std::string("dense CRF: ") + field + " " + std::to_string(value) + " must be a finite number > 0");
}

void requireFinite(float value, const char *field)
{
    if (!std::isfinite(value))
        throw Error(std::string("dense CRF: ") + field + " " + std::to_string(value) + " must be finite");
}

} // namespace

void DenseCrfParams::validate() const
{
    requirePositive(gaussianSxy, "gaussian_sxy");
    requireFinite(gaussianCompat, "gaussian_compat");
    requirePositive(bilateralSxy, "bilateral_sxy");
    requirePositive(bilateralSrgb, "bilateral_srgb");
    requireFinite(bilateralCompat, "bilateral_compat");
    if (iterations < 0)
        throw Error("dense CRF: iterations " + std::to_string(iterations) + " must be ≥ 0");
}

nlohmann::json DenseCrfParams::toJson() const
{
    return {{"gaussian_sxy", gaussianSxy},       {"gaussian_compat", gaussianCompat},
            {"bilateral_sxy", bilateralSxy},     {"bilateral_srgb", bilateralSrgb},
            {"bilateral_compat", bilateralCompat}, {"iterations", iterations}};
}

DenseCrfParams DenseCrfParams::fromJson(const nlohmann::json &json)
{
    DenseCrfParams p;
    for (auto it = json.begin(); it != json.end(); ++it) {
        if (it.key() == "gaussian_sxy")
            p.gaussianSxy = it->get<float>();
        else if (it.key() == "gaussian_compat")
            p.gaussianCompat = it->get<float>();
        else if (it.key() == "bilateral_sxy")
            p.bilateralSxy = it->get<float>();
        else if (it.key() == "bilateral_srgb")
            p.bilateralSrgb = it->get<float>();
        else if (it.key() == "bilateral_compat")
            p.bilateralCompat = it->get<float>();
        else if (it.key() == "iterations")
            p.iterations = it->get<int>();
        else
            throw Error("dense CRF: unknown key \"" + it.key() + "\"");
    }
    p.validate();
    return p;
}

DenseCrfParams denseCrfPreset(const std::string &name)
{
    for (const auto &preset : kPresets)
        if (name == preset.name)
            return preset.params;
    throw Error("dense CRF: unknown preset \"" + name + "\" (known: " + denseCrfPresetList() + ")");
}

bool isDenseCrfPreset(const std::string &name)
{
    for (const auto &preset : kPresets)
        if (name == preset.name)
            return true;
    return false;
}

std::string denseCrfPresetList()
{
    std::string list;
    for (const auto &preset : kPresets)
        list += (list.empty() ? "" : ", ") + std::string(preset.name);
    return list;
}

std::vector<std::string> denseCrfPresetNames()
{
    std::vector<std::string> names;
    for (const auto &preset : kPresets)
        names.emplace_back(preset.name);
    return names;
}

std::string DenseCrfParams::summary() const
{
    std::ostringstream s;
    s << "Gaussian " << gaussianSxy << " px × " << gaussianCompat << "; bilateral " << bilateralSxy << " px, "
      << bilateralSrgb << " rgb × " << bilateralCompat << "; " << iterations << " steps";
    return s.str();
}

} // namespace wsss::vision
