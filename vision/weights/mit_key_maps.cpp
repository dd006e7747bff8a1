#include "vision/weights/mit_key_maps.h"

#include "vision/backbones/mit.h"
#include "vision/core/error.h"
#include "vision/core/text.h"
#include "vision/weights/load_weights.h"
#include "vision/weights/safetensors.h"

#include <torch/torch.h>

#include <array>
#include <regex>
#include <utility>

namespace wsss::vision {

namespace {

using NamePair = std::pair<const char *, const char *>; // {official, Hugging Face}

// Inside a patch embedding (patch_embed{s}. ↔ encoder.patch_embeddings.{s-1}.).
const std::vector<NamePair> kEmbedParts = {
    {"proj.", "proj."},
    {"norm.", "layer_norm."},
};

// Inside a block (block{s}.{j}. ↔ encoder.block.{s-1}.{j}.); attn.kv is the key/value pair below.
// After mmseg's mit2mmseg.py and Hugging Face's convert_segformer_original_to_pytorch.py.
const std::vector<NamePair> kBlockParts = {
    {"norm1.", "layer_norm_1."},
    {"attn.q.", "attention.self.query."},
    {"attn.sr.", "attention.self.sr."},
    {"attn.norm.", "attention.self.layer_norm."},
    {"attn.proj.", "attention.output.dense."},
    {"norm2.", "layer_norm_2."},
    {"mlp.fc1.", "mlp.dense1."},
    {"mlp.dwconv.dwconv.", "mlp.dwconv.dwconv."},
    {"mlp.fc2.", "mlp.dense2."},
};
const std::string kOfficialKv = "attn.kv.";
const std::string kHfKey = "attention.self.key.";
const std::string kHfValue = "attention.self.value.";

// Tensors of a weights file that are not the encoder's: loaded nowhere, noted.
const std::vector<std::string> kOfficialIgnored = {"head."};                       // ImageNet classifier
const std::vector<std::string> kHfIgnored = {"classifier.", "decode_head."};       // classifier, SegFormer decoder

bool startsWithAny(const std::string &s, const std::vector<std::string> &prefixes)
{
    for (const auto &p : prefixes)
        if (startsWith(s, p))
            return true;
    return false;
}

// `rest` with the part that starts it renamed from one side of `table` to the other; empty when
// no part matches.
std::string renamePart(const std::string &rest, const std::vector<NamePair> &table, bool toHf)
{
    for (const auto &[official, hf] : table) {
        const std::string from = toHf ? official : hf, to = toHf ? hf : official;
        if (startsWith(rest, from))
            return to + rest.substr(from.size());
    }
    return {};
}

int stageIndex(const std::string &digits) { return std::stoi(digits); }

// A Hugging Face key (prefix removed) → the project's name; empty when it is not a MiT name.
// `kvPart` is set to 0 for a key, 1 for a value tensor (halves of attn.kv), else -1.
std::string officialName(const std::string &hf, int *kvPart)
{
    static const std::regex embed(R"(^encoder\.patch_embeddings\.(\d+)\.(.+)$)");
    static const std::regex block(R"(^encoder\.block\.(\d+)\.(\d+)\.(.+)$)");
    static const std::regex norm(R"(^encoder\.layer_norm\.(\d+)\.(.+)$)");
    *kvPart = -1;
    std::smatch m;
    if (std::regex_match(hf, m, embed)) {
        const auto part = renamePart(m[2], kEmbedParts, false);
        return part.empty() ? part : "patch_embed" + std::to_string(stageIndex(m[1]) + 1) + "." + part;
    }
    if (std::regex_match(hf, m, block)) {
        const std::string rest = m[3];
        const std::string head = "block" + std::to_string(stageIndex(m[1]) + 1) + "." + std::string(m[2]) + ".";
        if (startsWith(rest, kHfKey) || startsWith(rest, kHfValue)) {
            *kvPart = startsWith(rest, kHfKey) ? 0 : 1;
            return head + kOfficialKv + rest.substr((*kvPart == 0 ? kHfKey : kHfValue).size());
        }
        const auto part = renamePart(rest, kBlockParts, false);
        return part.empty() ? part : head + part;
    }
    if (std::regex_match(hf, m, norm))
        return "norm" + std::to_string(stageIndex(m[1]) + 1) + "." + std::string(m[2]);
    return {};
}

} // namespace

const char *toString(MitNaming naming)
{
    return naming == MitNaming::Official ? "official SegFormer" : "Hugging Face";
}

std::string hfMitName(const std::string &key)
{
    static const std::regex embed(R"(^patch_embed(\d+)\.(.+)$)");
    static const std::regex block(R"(^block(\d+)\.(\d+)\.(.+)$)");
    static const std::regex norm(R"(^norm(\d+)\.(.+)$)");
    std::smatch m;
    if (std::regex_match(key, m, embed)) {
        const auto part = renamePart(m[2], kEmbedParts, true);
        if (!part.empty())
            return "encoder.patch_embeddings." + std::to_string(stageIndex(m[1]) - 1) + "." + part;
    } else if (std::regex_match(key, m, block)) {
        const std::string rest = m[3];
        const std::string head = "encoder.block." + std::to_string(stageIndex(m[1]) - 1) + "." + std::string(m[2]) + ".";
        if (startsWith(rest, kOfficialKv)) {
            const auto param = rest.substr(kOfficialKv.size());
            return head + kHfKey + param + " + " + head + kHfValue + param;
        }
        const auto part = renamePart(rest, kBlockParts, true);
        if (!part.empty())
            return head + part;
    } else if (std::regex_match(key, m, norm)) {
        return "encoder.layer_norm." + std::to_string(stageIndex(m[1]) - 1) + "." + std::string(m[2]);
    }
    return key;
}

MitNaming detectMitNaming(const std::map<std::string, torch::Tensor> &tensors, const std::string &source)
{
    bool official = false, hf = false;
    for (const auto &[key, value] : tensors) {
        official = official || key.find("patch_embed1.") != std::string::npos;
        hf = hf || key.find("encoder.patch_embeddings.") != std::string::npos;
    }
    if (official == hf)
        throw Error("weights \"" + source + "\": " +
                    (official ? std::string("both official SegFormer (patch_embed1.*) and Hugging Face "
                                            "(encoder.patch_embeddings.*) MiT names")
                              : std::string("no MiT tensors (neither patch_embed1.* nor encoder.patch_embeddings.*)")));
    return official ? MitNaming::Official : MitNaming::HuggingFace;
}

std::string MitWeights::fileName(const std::string &projectKey) const
{
    if (auto it = fileNames.find(projectKey); it != fileNames.end())
        return it->second;
    if (tensors.count(projectKey))
        return projectKey; // kept under its own name
    // Not in the file: the name it would have there.
    if (naming == MitNaming::Official)
        return filePrefix + projectKey;
    const auto hf = hfMitName(projectKey);
    if (hf == projectKey)
        return projectKey;
    const auto plus = hf.find(" + ");
    if (plus != std::string::npos)
        return filePrefix + hf.substr(0, plus) + " + " + filePrefix + hf.substr(plus + 3);
    return filePrefix + hf;
}

void MitWeights::rename(const std::string &fileKey, const std::string &projectKey, const torch::Tensor &value)
{
    tensors[projectKey] = value;
    if (fileKey != projectKey)
        fileNames[projectKey] = fileKey;
}

std::string MitWeights::note() const
{
    if (ignored.empty())
        return {};
    std::string list;
    for (const auto &key : ignored)
        list += (list.empty() ? "" : ", ") + key;
    return "left out " + std::to_string(ignored.size()) + " tensors that are not the MiT encoder's: " + list;
}

MitWeights mapMitWeights(const std::map<std::string, torch::Tensor> &tensors, const std::string &source)
{
    MitWeights out;
    out.naming = detectMitNaming(tensors, source);

    // The prefix in front of the names: DDP's "module." and, for Hugging Face, "segformer."
    // (absent in a bare SegformerModel).
    const std::string anchor = out.naming == MitNaming::Official ? "patch_embed1." : "encoder.patch_embeddings.";
    for (const auto &[key, value] : tensors) {
        const auto at = key.find(anchor);
        if (at != std::string::npos) {
            out.filePrefix = key.substr(0, at);
            break;
        }
    }
    if (out.naming == MitNaming::Official) {
        for (const auto &[key, value] : tensors) {
            const bool mine = startsWith(key, out.filePrefix);
            const std::string name = mine ? key.substr(out.filePrefix.size()) : key;
            if (startsWithAny(name, kOfficialIgnored))
                out.ignored.push_back(key);
            else if (mine)
                out.rename(key, name, value);
            else
                out.tensors[key] = value;
        }
        return out;
    }

    // Hugging Face: rename, and join each key/value pair into kv (rows: k, then v).
    std::map<std::string, std::array<std::pair<std::string, torch::Tensor>, 2>> kvHalves;
    for (const auto &[key, value] : tensors) {
        const bool mine = startsWith(key, out.filePrefix);
        const std::string name = mine ? key.substr(out.filePrefix.size()) : key;
        // The model's own heads sit beside "segformer.", not under it.
        if (startsWithAny(name, kHfIgnored)) {
            out.ignored.push_back(key);
            continue;
        }
        int kvPart = -1;
        const std::string official = mine ? officialName(name, &kvPart) : std::string();
        if (official.empty())
            out.tensors[key] = value; // not a MiT name: the strict load reports it as unexpected
        else if (kvPart >= 0)
            kvHalves[official][kvPart] = {key, value};
        else
            out.rename(key, official, value);
    }
    for (const auto &[official, halves] : kvHalves) {
        const auto &[keyName, k] = halves[0];
        const auto &[valueName, v] = halves[1];
        if (!k.defined() || !v.defined())
            throw Error("weights \"" + source + "\": tensor \"" + (k.defined() ? keyName : valueName) +
                        "\" has no matching " + (k.defined() ? "value" : "key") + " tensor to form " + official);
        if (k.sizes() != v.sizes())
            throw Error("weights \"" + source + "\": tensors \"" + keyName + "\" " + c10::str(k.sizes()) + " and \"" +
                        valueName + "\" " + c10::str(v.sizes()) + " differ in shape");
        out.rename(keyName + " + " + valueName, official, torch::cat({k, v}, 0));
    }
    return out;
}

MitWeights loadMitWeights(MixTransformerImpl &mit, const std::map<std::string, torch::Tensor> &tensors,
                          const std::string &source)
{
    MitWeights weights = mapMitWeights(tensors, source);
    loadStateDict(mit, weights.tensors, source, "", [&](const std::string &key) {
        const auto name = weights.fileName(key);
        return name == key ? key : name + " (" + key + ")";
    });
    weights.tensors.clear(); // the values now live in the module
    return weights;
}

MitWeights loadMitWeights(MixTransformerImpl &mit, const std::string &path)
{
    return loadMitWeights(mit, readSafetensors(path).tensors, path);
}

} // namespace wsss::vision
