#pragma once
// MiT weights from .safetensors under either naming: the official SegFormer names (the project's
// own, as AFA's and ECA's mit_b1.pth: patch_embed1.proj, block1.0.attn.kv, norm1, ...) or Hugging
// Face transformers' (nvidia/mit-b0, nvidia/mit-b1: segformer.encoder.patch_embeddings.0.proj,
// ...attention.self.key / value, ...), told apart by the keys. Hugging Face splits kv into key
// and value; they are concatenated (k rows first) on load. Classifier and decode-head tensors are
// left out with a note; any other unmatched, missing or wrong-shaped tensor fails the load.
#include <torch/types.h>

#include <map>
#include <string>
#include <vector>

namespace wsss::vision {

class MixTransformerImpl;

enum class MitNaming { Official, HuggingFace };
const char *toString(MitNaming naming);

// Which naming `tensors` use; throws naming `source` when neither or both are found.
MitNaming detectMitNaming(const std::map<std::string, torch::Tensor> &tensors, const std::string &source);

struct MitWeights {
    MitNaming naming = MitNaming::Official;
    std::string filePrefix;                        // what precedes the names in the file ("segformer.", "module.", "")
    std::map<std::string, torch::Tensor> tensors;  // encoder tensors under the project's names; an
                                                   // unrecognised key keeps its file name
    std::map<std::string, std::string> fileNames;  // project key → its name in the file, where they differ
    std::vector<std::string> ignored;              // file keys left out on purpose (classifier, decode head)

    // Adds a tensor under its project name, remembering the file's.
    void rename(const std::string &fileKey, const std::string &projectKey, const torch::Tensor &value);

    // What a project key is (or would be) called in the file ("a + b" for a concatenated pair).
    std::string fileName(const std::string &projectKey) const;
    // A one-line note on the ignored keys ("" when none).
    std::string note() const;
};

// The Hugging Face name of a project key, without the "segformer." prefix:
// "block1.0.attn.kv.weight" → "encoder.block.0.0.attention.self.key.weight + ...value.weight".
// A key outside the MiT layout is returned unchanged.
std::string hfMitName(const std::string &projectKey);

// Renames the tensors of a weights file to the project's names. `source` names the file in messages.
MitWeights mapMitWeights(const std::map<std::string, torch::Tensor> &tensors, const std::string &source);

// Maps and loads strictly: every encoder tensor must be present with its shape, and messages
// name tensors as the file does (with the project's name in parentheses). Returns the naming and
// what was left out (note()); its `tensors` are emptied, the values now being in the module.
MitWeights loadMitWeights(MixTransformerImpl &mit, const std::map<std::string, torch::Tensor> &tensors,
                          const std::string &source);
// The same from a .safetensors file.
MitWeights loadMitWeights(MixTransformerImpl &mit, const std::string &path);

} // namespace wsss::vision
