#include "vision/weights/vit_key_maps.h"

#include "vision/backbones/vit.h"
#include "vision/core/error.h"
#include "vision/core/text.h"
#include "vision/weights/load_weights.h"
#include "vision/weights/safetensors.h"

#include <torch/types.h>

#include <cmath>
#include <set>

namespace wsss::vision {

namespace {

std::string joined(const std::vector<std::string> &names)
{
    std::string out;
    for (const auto &n : names)
        out += (out.empty() ? "" : ", ") + n;
    return out;
}

// Keys a file may carry that the backbone has no use for: classifier heads (timm `head`,
// transformers `classifier`), transformers' pooler and masked-image-modelling token.
bool isIgnoredHead(const std::string &key, WeightNaming naming)
{
    if (naming == WeightNaming::Timm)
        return startsWith(key, "head.");
    return startsWith(key, "pooler.") || startsWith(key, "classifier.") || key == "embeddings.mask_token";
}

// Takes keys from the file and remembers which ones were used or missing.
class KeyTaker {
public:
    KeyTaker(const std::map<std::string, torch::Tensor> &tensors, std::string prefix)
        : m_tensors(tensors), m_prefix(std::move(prefix))
    {
    }
    torch::Tensor take(const std::string &key)
    {
        auto it = m_tensors.find(m_prefix + key);
        if (it == m_tensors.end()) {
            m_missing.push_back(m_prefix + key);
            return {};
        }
        m_used.insert(it->first);
        return it->second;
    }
    const std::string &prefix() const { return m_prefix; }
    const std::vector<std::string> &missing() const { return m_missing; }
    bool used(const std::string &key) const { return m_used.count(key) > 0; }

private:
    const std::map<std::string, torch::Tensor> &m_tensors;
    std::string m_prefix;
    std::vector<std::string> m_missing;
    std::set<std::string> m_used;
};

// transformers' ViTModel → timm, one explicit row per tensor.
void mapHuggingFace(const std::map<std::string, torch::Tensor> &tensors, const VitConfig &config,
                    const std::string &source, VitWeights &out)
{
    if (!config.stemChannels.empty() || config.resnetStem)
        throw Error("weights \"" + source + "\": Hugging Face names are mapped for ViTs with a patch embedding, "
                    "not for the conv stem of backbone \"" + config.name + "\"");
    const bool prefixed = tensors.count("vit.embeddings.cls_token") || tensors.count("vit.embeddings.position_embeddings");
    KeyTaker hf(tensors, prefixed ? "vit." : "");
    auto put = [&](const std::string &ours, const std::string &theirs) {
        if (auto t = hf.take(theirs); t.defined()) {
            out.tensors[ours] = t;
            out.origin[ours] = hf.prefix() + theirs;
        }
    };
    put("cls_token", "embeddings.cls_token");
    put("pos_embed", "embeddings.position_embeddings");
    for (const std::string p : {"weight", "bias"}) {
        put("patch_embed.proj." + p, "embeddings.patch_embeddings.projection." + p);
        put("norm." + p, "layernorm." + p);
        for (int i = 0; i < config.depth; ++i) {
            const std::string ours = "blocks." + std::to_string(i) + ".";
            const std::string theirs = "encoder.layer." + std::to_string(i) + ".";
            put(ours + "norm1." + p, theirs + "layernorm_before." + p);
            put(ours + "attn.proj." + p, theirs + "attention.output.dense." + p);
            put(ours + "norm2." + p, theirs + "layernorm_after." + p);
            put(ours + "mlp.fc1." + p, theirs + "intermediate.dense." + p);
            put(ours + "mlp.fc2." + p, theirs + "output.dense." + p);
            // timm's qkv rows are [q | k | v], each heads × head dim, the layout of the split ones.
            std::vector<torch::Tensor> parts;
            std::string from;
            for (const std::string part : {"query", "key", "value"}) {
                const std::string key = theirs + "attention.attention." + part + "." + p;
                if (auto t = hf.take(key); t.defined())
                    parts.push_back(t);
                from += (from.empty() ? "" : " + ") + hf.prefix() + key;
            }
            if (parts.size() == 3) {
                const auto shape = parts[0].sizes();
                for (const auto &t : parts)
                    if (t.sizes() != shape)
                        throw Error("weights \"" + source + "\": " + from + " differ in shape (" +
                                    c10::str(parts[0].sizes()) + ", " + c10::str(parts[1].sizes()) + ", " +
                                    c10::str(parts[2].sizes()) + ")");
                out.tensors[ours + "attn.qkv." + p] = torch::cat(parts, 0);
                out.origin[ours + "attn.qkv." + p] = from;
            }
        }
    }
    if (!hf.missing().empty())
        throw Error("weights \"" + source + "\" (Hugging Face names): missing tensors: " + joined(hf.missing()));
    std::vector<std::string> unexpected, ignored;
    for (const auto &[key, value] : tensors) {
        if (hf.used(key))
            continue;
        // ViTForImageClassification keeps its classifier beside "vit.", not under it.
        const std::string relative = startsWith(key, hf.prefix()) ? key.substr(hf.prefix().size()) : key;
        if (isIgnoredHead(relative, out.naming))
            ignored.push_back(key);
        else
            unexpected.push_back(key);
    }
    if (!unexpected.empty())
        throw Error("weights \"" + source + "\" (Hugging Face names): unexpected tensors: " + joined(unexpected));
    if (!ignored.empty())
        out.notes.push_back("ignored (not part of the backbone): " + joined(ignored));
}

// timm names are the module's own: drop the head, keep the rest for the strict loader.
void mapTimm(const std::map<std::string, torch::Tensor> &tensors, VitWeights &out)
{
    std::vector<std::string> ignored;
    for (const auto &[key, value] : tensors) {
        if (isIgnoredHead(key, out.naming)) {
            ignored.push_back(key);
            continue;
        }
        out.tensors[key] = value;
        out.origin[key] = key;
    }
    if (!ignored.empty())
        out.notes.push_back("ignored (not part of the backbone): " + joined(ignored));
}

// Resizes the position embedding to the model's grid and repeats a single class token (and
// its position) when the model has several, as MCTformer initialises its class tokens.
void adaptEmbeddings(const VitConfig &config, const std::string &source, VitWeights &out)
{
    auto cls = out.tensors.find("cls_token");
    auto pos = out.tensors.find("pos_embed");
    if (cls == out.tensors.end() || pos == out.tensors.end() || cls->second.dim() != 3 || pos->second.dim() != 3)
        return; // the strict loader names what is missing or malformed
    const int filePrefix = static_cast<int>(cls->second.size(1));
    const auto patchTokens = pos->second.size(1) - filePrefix;
    const auto side = static_cast<std::int64_t>(std::lround(std::sqrt(static_cast<double>(std::max<std::int64_t>(patchTokens, 0)))));
    if (patchTokens <= 0 || side * side != patchTokens)
        throw Error("weights \"" + source + "\": tensor \"" + out.origin["pos_embed"] + "\" has shape " +
                    c10::str(pos->second.sizes()) + ": after " + std::to_string(filePrefix) +
                    " class token(s), its " + std::to_string(patchTokens) + " positions are not a square grid");
    const int grid = config.gridSize();
    if (side != grid) {
        pos->second = resizePositionEmbedding(pos->second, filePrefix, grid, grid, PosEmbedResize::Bicubic);
        out.notes.push_back("position embedding resized from " + std::to_string(side) + "x" + std::to_string(side) +
                            " to " + std::to_string(grid) + "x" + std::to_string(grid) + " (bicubic)");
    }
    const int prefix = config.prefixTokens;
    if (filePrefix == 1 && prefix > 1) {
        cls->second = cls->second.repeat({1, prefix, 1});
        auto posPrefix = pos->second.slice(1, 0, 1).repeat({1, prefix, 1});
        pos->second = torch::cat({posPrefix, pos->second.slice(1, 1)}, 1);
        out.notes.push_back("class token repeated to " + std::to_string(prefix) + " class tokens");
    }
}

} // namespace

std::string namingName(WeightNaming naming)
{
    return naming == WeightNaming::Timm ? "timm" : "Hugging Face";
}

WeightNaming detectVitNaming(const std::map<std::string, torch::Tensor> &tensors, const std::string &source)
{
    for (const std::string key : {"embeddings.cls_token", "vit.embeddings.cls_token", "embeddings.position_embeddings",
                                  "vit.embeddings.position_embeddings"})
        if (tensors.count(key))
            return WeightNaming::HuggingFace;
    if (tensors.count("cls_token") || tensors.count("pos_embed"))
        return WeightNaming::Timm;
    std::string sample;
    int n = 0;
    for (auto it = tensors.begin(); it != tensors.end() && n < 3; ++it, ++n)
        sample += (sample.empty() ? "" : ", ") + it->first;
    throw Error("weights \"" + source + "\": not a ViT under timm names (cls_token, pos_embed) or Hugging Face names "
                "([vit.]embeddings.cls_token); first keys: " + (sample.empty() ? "none" : sample));
}

VitWeights mapVitWeights(const std::map<std::string, torch::Tensor> &tensors, const VitConfig &config,
                         const std::string &source)
{
    VitWeights out;
    out.naming = detectVitNaming(tensors, source);
    if (out.naming == WeightNaming::HuggingFace)
        mapHuggingFace(tensors, config, source, out);
    else
        mapTimm(tensors, out);
    adaptEmbeddings(config, source, out);
    return out;
}

VitWeights loadVitWeights(VisionTransformerImpl &vit, const std::string &path)
{
    auto file = readSafetensors(path);
    auto weights = mapVitWeights(file.tensors, vit.config(), path);
    // Check shapes here, to name the file's key (which differs from ours for Hugging Face).
    for (const auto &[name, target] : stateDict(vit)) {
        auto it = weights.tensors.find(name);
        if (it != weights.tensors.end() && it->second.sizes() != target.sizes())
            throw Error("weights \"" + path + "\": tensor \"" + weights.origin[name] + "\" has shape " +
                        c10::str(it->second.sizes()) + ", expected " + c10::str(target.sizes()) +
                        (weights.origin[name] == name ? "" : " (for " + name + ")"));
    }
    loadStateDict(vit, weights.tensors, path);
    weights.tensors.clear();
    weights.family = detectWeightsFamily(file.tensors, file.metadata, path);
    const auto &norm = weights.family.norm;
    if (weights.family.family != WeightsFamily::Unknown &&
        (norm.mean != vit.config().norm.mean || norm.std != vit.config().norm.std)) {
        weights.notes.push_back("input normalisation " + describeNormalization(norm) + " (" +
                                familyName(weights.family.family) + ", from " + weights.family.reason +
                                ") instead of the preset's " + describeNormalization(vit.config().norm));
        vit.setNormalization(norm);
    }
    return weights;
}

} // namespace wsss::vision
