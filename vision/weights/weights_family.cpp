#include "vision/weights/weights_family.h"

#include "vision/core/error.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <sstream>
#include <vector>

namespace wsss::vision {

namespace {

std::string lower(std::string s)
{
    std::transform(s.begin(), s.end(), s.begin(), [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    return s;
}

bool hasKeyStartingWith(const std::map<std::string, torch::Tensor> &tensors, const std::string &prefix)
{
    auto it = tensors.lower_bound(prefix);
    return it != tensors.end() && it->first.compare(0, prefix.size(), prefix) == 0;
}

// Name tokens, most specific first: "vit_base_r50_s16_384.orig_in21k" is the hybrid, and
// "vit_small_patch8_224.dino" is DINO, though both also carry a generic ViT token.
const std::vector<std::pair<std::string, WeightsFamily>> &nameTokens()
{
    static const std::vector<std::pair<std::string, WeightsFamily>> table{
        {"dino", WeightsFamily::Dino},        {"deit", WeightsFamily::Deit},
        {"mit_b", WeightsFamily::Mit},        {"mit-b", WeightsFamily::Mit},
        {"segformer", WeightsFamily::Mit},    {"r50", WeightsFamily::R50Hybrid},
        {"resnet50", WeightsFamily::R50Hybrid}, {"augreg", WeightsFamily::AugregVit},
        {"in21k", WeightsFamily::AugregVit},  {"imagenet21k", WeightsFamily::AugregVit},
        {"jx_vit", WeightsFamily::AugregVit}, {"google--vit", WeightsFamily::AugregVit},
    };
    return table;
}

Normalization parseAnnotated(const std::string &text, const std::string &path)
{
    auto bad = [&](const std::string &why) {
        return Error("weights \"" + path + "\": metadata \"normalization\" " + why +
                     " (expected {\"mean\": [r, g, b], \"std\": [r, g, b]})");
    };
    Normalization n;
    try {
        const auto json = nlohmann::json::parse(text);
        const auto mean = json.at("mean").get<std::vector<float>>();
        const auto stdev = json.at("std").get<std::vector<float>>();
        if (mean.size() != 3 || stdev.size() != 3)
            throw bad("does not have 3 values per list");
        for (int c = 0; c < 3; ++c) {
            if (!(stdev[c] > 0))
                throw bad("has a std that is not positive");
            n.mean[c] = mean[c];
            n.std[c] = stdev[c];
        }
    } catch (const nlohmann::json::exception &e) {
        throw bad(std::string("is malformed: ") + e.what());
    }
    return n;
}

} // namespace

std::string familyName(WeightsFamily family)
{
    switch (family) {
    case WeightsFamily::AugregVit: return "Google/augreg ViT";
    case WeightsFamily::Dino: return "DINO";
    case WeightsFamily::Deit: return "DeiT";
    case WeightsFamily::Mit: return "MiT";
    case WeightsFamily::R50Hybrid: return "R50+ViT hybrid";
    case WeightsFamily::Annotated: return "annotated";
    case WeightsFamily::Unknown: break;
    }
    return "unknown";
}

Normalization familyNormalization(WeightsFamily family)
{
    if (family == WeightsFamily::Unknown || family == WeightsFamily::Annotated)
        throw Error("weights family \"" + familyName(family) + "\" has no fixed normalisation");
    // Google's ViTs take (x − 127.5)/127.5 (methods/vitpcm.md §3.1); ACR feeds its hybrid
    // ImageNet mean/std although timm's cfg says 0.5 (methods/acr.md §4).
    if (family == WeightsFamily::AugregVit)
        return {{0.5f, 0.5f, 0.5f}, {0.5f, 0.5f, 0.5f}};
    return {}; // ImageNet
}

DetectedFamily detectWeightsFamily(const std::map<std::string, torch::Tensor> &tensors,
                                   const std::map<std::string, std::string> &metadata, const std::string &path)
{
    if (auto it = metadata.find("normalization"); it != metadata.end())
        return {WeightsFamily::Annotated, parseAnnotated(it->second, path), "the file's \"normalization\" metadata"};

    auto known = [](WeightsFamily f, std::string reason) { return DetectedFamily{f, familyNormalization(f), std::move(reason)}; };
    if (hasKeyStartingWith(tensors, "patch_embed.backbone."))
        return known(WeightsFamily::R50Hybrid, "its ResNetV2 stem (patch_embed.backbone.*)");
    for (const std::string key : {"dist_token", "embeddings.distillation_token", "vit.embeddings.distillation_token",
                                  "deit.embeddings.distillation_token"})
        if (tensors.count(key))
            return known(WeightsFamily::Deit, "its distillation token (" + key + ")");
    if (hasKeyStartingWith(tensors, "block1.") && hasKeyStartingWith(tensors, "patch_embed1."))
        return known(WeightsFamily::Mit, "its MiT stages (patch_embed1.*, block1.*)");

    // The file name; the Hugging Face cache folder (models--owner--name, up to three levels up:
    // .../snapshots/<hash>/model.safetensors); a generic model.safetensors's own folder (a hub
    // repository downloaded with --local-dir). Other folders are the user's and say nothing.
    namespace fs = std::filesystem;
    const fs::path file(path);
    std::vector<std::string> names{file.filename().string()};
    fs::path dir = file.parent_path();
    for (int i = 0; i < 3 && !dir.filename().empty(); ++i, dir = dir.parent_path())
        if (dir.filename().string().rfind("models--", 0) == 0)
            names.push_back(dir.filename().string());
    if (lower(file.filename().string()) == "model.safetensors" && !file.parent_path().filename().empty())
        names.push_back(file.parent_path().filename().string());
    for (const auto &name : names) {
        const std::string l = lower(name);
        for (const auto &[token, family] : nameTokens())
            if (l.find(token) != std::string::npos)
                return known(family, "the name \"" + name + "\"");
    }
    return {};
}

std::string describeNormalization(const Normalization &norm)
{
    std::ostringstream s;
    s << "mean " << norm.mean[0] << "/" << norm.mean[1] << "/" << norm.mean[2] << ", std " << norm.std[0] << "/"
      << norm.std[1] << "/" << norm.std[2];
    return s.str();
}

} // namespace wsss::vision
