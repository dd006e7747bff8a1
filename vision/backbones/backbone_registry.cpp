#include "vision/backbones/backbone_registry.h"

#include "vision/backbones/mit.h"
#include "vision/core/error.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <tuple>
#include <unistd.h>
#include <wsss/source_paths.h>

namespace wsss::vision {

namespace {

// The two normalisations of the ViT weights (weights_family.h): ImageNet mean/std (DeiT, DINO,
// the R50 hybrid as ACR feeds it, the demo) and 0.5/0.5 (Google's and timm's augreg ViTs). A
// loaded file of a recognised family overrides the preset's.
const Normalization kImageNet{};
const Normalization kHalf{{0.5f, 0.5f, 0.5f}, {0.5f, 0.5f, 0.5f}};

VitConfig vit(std::string name, int patch, int dim, int depth, int heads, int imgSize,
              Normalization norm = kImageNet)
{
    VitConfig c;
    c.name = std::move(name);
    c.patchSize = patch;
    c.embedDim = dim;
    c.depth = depth;
    c.heads = heads;
    c.imgSize = imgSize;
    c.norm = norm;
    return c;
}

const std::map<std::string, VitConfig> &presets()
{
    static const std::map<std::string, VitConfig> table = [] {
        std::map<std::string, VitConfig> t;
        auto add = [&](VitConfig c) { t[c.name] = c; };
        // timm's augreg ViTs: vit_tiny_patch16_224, vit_small_patch16_384.augreg_in21k_ft_in1k
        // (ViT-PCM), vit_base_patch16_224 (also google/vit-base-patch16-224 on the Hub).
        add(vit("vit_tiny_patch16", 16, 192, 12, 3, 224, kHalf));
        add(vit("vit_small_patch16", 16, 384, 12, 6, 384, kHalf));
        add(vit("vit_base_patch16", 16, 768, 12, 12, 224, kHalf));
        // R50+ViT-B/16 hybrid (timm vit_base_r50_s16_384, ACR): ResNetV2 (3, 4, 9) → 24×24 at 384.
        // ImageNet mean/std, as ACR trains it (timm's cfg says 0.5; methods/acr.md §4).
        VitConfig hybrid = vit("vit_base_r50_s16", 16, 768, 12, 12, 384);
        hybrid.resnetStem = ResNetV2Config{};
        add(hybrid);
        // DeiT-S/16 (deit_small_patch16_224, USAGE). MCTformer's class tokens: set prefixTokens.
        add(vit("deit_small_patch16", 16, 384, 12, 6, 224));
        // timm's only ViT-S/8 weights are DINO's (vit_small_patch8_224.dino).
        add(vit("vit_small_patch8", 8, 384, 12, 6, 224));
        // DINO (ECA's frozen guider), resizing the position embedding as DINO's own code does.
        for (auto [name, patch, dim, heads] : {std::tuple{"dino_vit_small_patch8", 8, 384, 6},
                                               std::tuple{"dino_vit_small_patch16", 16, 384, 6},
                                               std::tuple{"dino_vit_base_patch16", 16, 768, 12}}) {
            VitConfig dino = vit(name, patch, dim, 12, heads, 224);
            dino.posEmbedResize = PosEmbedResize::BicubicScale;
            add(dino);
        }
        // CPU demo preset: a 3-layer conv stem of total stride 8 (as in the R50 hybrid, much
        // shallower), then 4 blocks of width 192 with 3 heads; laid out for 128 px inputs.
        VitConfig demo = vit("vit_demo_patch8", 8, 192, 4, 3, 128);
        demo.stemChannels = {32, 64, 128};
        add(demo);
        // Test preset: the same structure at a fraction of the cost.
        VitConfig test = vit("vit_test_patch8", 8, 32, 2, 2, 64);
        test.stemChannels = {8, 8, 16};
        add(test);
        // Test preset of the hybrid: a ResNetV2 of one bottleneck per stage, 4×4 grid at 64 px.
        VitConfig testHybrid = vit("vit_test_r50_s16", 16, 16, 2, 2, 64);
        testHybrid.resnetStem = ResNetV2Config{8, {1, 1, 1}, {16, 32, 64}, 4};
        add(testHybrid);
        return t;
    }();
    return table;
}

} // namespace

VitConfig vitPreset(const std::string &name)
{
    auto it = presets().find(name);
    if (it == presets().end()) {
        std::string known;
        for (const auto &[n, c] : presets())
            known += (known.empty() ? "" : ", ") + n;
        if (isMitBackbone(name))
            throw Error("backbone \"" + name + "\" is a MiT encoder, which afa takes; this needs a ViT preset (" + known +
                        ")");
        throw Error("unknown backbone \"" + name + "\" (known: " + known + ", and for afa the MiT encoders " +
                    "mit_b0, mit_b1)");
    }
    return it->second;
}

std::vector<std::string> backboneNames()
{
    std::vector<std::string> names;
    for (const auto &[n, c] : presets())
        names.push_back(n);
    return names;
}

bool isMitBackbone(const std::string &name)
{
    const auto names = mitBackboneNames();
    return std::find(names.begin(), names.end(), name) != names.end();
}

int inputSizeMultiple(const std::string &name)
{
    if (isMitBackbone(name))
        return 32;
    return vitPreset(name).patchSize;
}

std::string resourceDir()
{
    namespace fs = std::filesystem;
    if (const char *env = std::getenv("WSSS_RESOURCE_DIR"); env && *env)
        return env;
    std::error_code ec;
    const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
    if (!ec) {
        const fs::path installed = exe.parent_path().parent_path() / "share" / "wsss-studio";
        if (fs::exists(installed / "weights", ec))
            return installed.string();
    }
    return WSSS_SOURCE_RESOURCE_DIR;
}

std::string bundledWeightsPath(const std::string &name)
{
    if (name != "vit_demo_patch8")
        return {};
    return (std::filesystem::path(resourceDir()) / "weights" / (name + ".safetensors")).string();
}

std::string weightsFileFor(const std::string &backbone, const std::string &weights)
{
    if (weights == "none")
        return {};
    if (!weights.empty())
        return weights;
    const std::string bundled = bundledWeightsPath(backbone);
    return !bundled.empty() && std::filesystem::exists(bundled) ? bundled : std::string();
}

std::shared_ptr<Backbone> makeBackbone(const std::string &name)
{
    if (isMitBackbone(name))
        return std::make_shared<MixTransformerImpl>(mitPreset(name));
    return std::make_shared<VisionTransformerImpl>(vitPreset(name));
}

} // namespace wsss::vision
