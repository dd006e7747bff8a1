#pragma once
// Pretrained ViT weights under timm's or Hugging Face's names, mapped explicitly onto
// VisionTransformer (whose modules carry timm's names). The naming is detected from the keys.
// Classifier heads are dropped with a note; the position embedding is resized to the model's
// grid and a single class token repeated when the model has several (MCTformer). Everything
// else must match: missing, unexpected and wrong-shaped tensors fail the load by name.
#include "vision/weights/weights_family.h"

#include <torch/types.h>

#include <map>
#include <string>
#include <vector>

namespace wsss::vision {

struct VitConfig;
class VisionTransformerImpl;

enum class WeightNaming {
    Timm,        // timm / DeiT / DINO releases: cls_token, pos_embed, blocks.N.attn.qkv, ...
    HuggingFace, // transformers ViTModel: [vit.]embeddings.*, [vit.]encoder.layer.N.attention.attention.query, ...
};
std::string namingName(WeightNaming naming);

// Which naming `tensors` use; throws wsss::Error naming `source` when neither fits.
WeightNaming detectVitNaming(const std::map<std::string, torch::Tensor> &tensors, const std::string &source);

// Tensors under the model's names, adapted to its config, with where each one came from.
struct VitWeights {
    std::map<std::string, torch::Tensor> tensors; // model key → tensor
    std::map<std::string, std::string> origin;    // model key → the file's key(s)
    WeightNaming naming = WeightNaming::Timm;
    std::vector<std::string> notes;               // ignored heads, resized or repeated embeddings,
                                                  // the normalisation taken from the file's family
    DetectedFamily family;                        // set by loadVitWeights (Unknown: preset's kept)
};

// Renames (Hugging Face's split query/key/value are concatenated into qkv), drops heads and
// adapts embeddings. Throws wsss::Error naming `source` and the keys that are missing from the
// file or that the model does not have.
VitWeights mapVitWeights(const std::map<std::string, torch::Tensor> &tensors, const VitConfig &config,
                         const std::string &source);

// Reads a .safetensors file and loads it strictly into `vit`; shape errors name the file's
// key and both shapes. When the file's family is recognised (weights_family.h), its input
// normalisation replaces the preset's in `vit`. Returns what was done (the tensors themselves
// are not kept).
VitWeights loadVitWeights(VisionTransformerImpl &vit, const std::string &path);

} // namespace wsss::vision
