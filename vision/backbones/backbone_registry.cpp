#include "vision/backbones/backbone_registry.h"

#include "vision/core/error.h"

#include <cstdlib>
#include <filesystem>
#include <map>
#include <unistd.h>

namespace wsss::vision {

namespace {

VitConfig vit(std::string name, int patch, int dim, int depth, int heads, int imgSize)
{
    VitConfig c;
    c.name = std::move(name);
    c.patchSize = patch;
    c.embedDim = dim;
    c.depth = depth;
    c.heads = heads;
    c.imgSize = imgSize;
    return c;
}

const std::map<std::string, VitConfig> &presets()
{
    static const std::map<std::string, VitConfig> table = [] {
        std::map<std::string, VitConfig> t;
        auto add = [&](VitConfig c) { t[c.name] = c; };
        add(vit("vit_tiny_patch16", 16, 192, 12, 3, 224));
        add(vit("vit_small_patch16", 16, 384, 12, 6, 224));
        add(vit("vit_base_patch16", 16, 768, 12, 12, 224));
        add(vit("vit_small_patch8", 8, 384, 12, 6, 224));
        // CPU demo preset: a 3-layer conv stem of total stride 8 (as in the R50 hybrid, much
        // shallower), then 4 blocks of width 192 with 3 heads; laid out for 128 px inputs.
        VitConfig demo = vit("vit_demo_patch8", 8, 192, 4, 3, 128);
        demo.stemChannels = {32, 64, 128};
        add(demo);
        // Test preset: the same structure at a fraction of the cost.
        VitConfig test = vit("vit_test_patch8", 8, 32, 2, 2, 64);
        test.stemChannels = {8, 8, 16};
        add(test);
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
        throw Error("unknown backbone \"" + name + "\" (known: " + known + ")");
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

} // namespace wsss::vision
