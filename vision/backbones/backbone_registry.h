#pragma once
// Backbone presets by timm-style name. A preset is data: sizes, input size, normalisation.
#include "vision/backbones/vit.h"

#include <memory>

#include <string>
#include <vector>

namespace wsss::vision {

// The preset of a name (e.g. "vit_small_patch16", "vit_demo_patch8"); throws listing the
// known names when there is none.
VitConfig vitPreset(const std::string &name);
std::vector<std::string> backboneNames();
// True for the MiT (SegFormer encoder) names, "mit_b0" and "mit_b1"; the others are ViT presets.
bool isMitBackbone(const std::string &name);
// What input sides must be multiples of: a ViT's patch size, 32 for MiT (every stage's grid
// then divides evenly). Throws listing the known names for an unknown one.
int inputSizeMultiple(const std::string &name);

// A backbone of a preset name, randomly initialised: the ViT family or MiT (at its official
// stride; AFA and ECA build MiT themselves at stride 16).
std::shared_ptr<Backbone> makeBackbone(const std::string &name);

// The bundled pretrained weights of a preset ("" when it has none), under the resource folder.
std::string bundledWeightsPath(const std::string &name);
// The file a `--weights` value names for a preset: the value itself; when empty, the preset's
// bundled weights if it has them and they are installed; "" for "none" or for no bundled file
// (random initialisation).
std::string weightsFileFor(const std::string &backbone, const std::string &weights);
// Where the bundled resources are: $WSSS_RESOURCE_DIR, else next to the executable
// (../share/wsss-studio), else the source tree's resources/.
std::string resourceDir();

} // namespace wsss::vision
