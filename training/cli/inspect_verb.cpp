#include "training/cli/verbs.h"
#include "training/export/inspection_export.h"
#include "training/methods/config_overrides.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace wsss::training {

void addInspectVerb(CLI::App &app)
{
    auto o = std::make_shared<InspectExportOptions>();
    auto configFile = std::make_shared<std::string>();
    auto sets = std::make_shared<std::vector<std::string>>();
    auto *verb = app.add_subcommand("inspect", "Write one image's inspection (input, tokens, attention, maps) as .npy files");
    auto *checkpoint = verb->add_option("--checkpoint", o->checkpoint, "A trained method's checkpoint.wsss");
    auto *backbone = verb->add_option("--backbone", o->backbone, "Or a bare backbone preset");
    checkpoint->excludes(backbone);
    verb->add_option("--weights", o->weights, "Backbone weights (.safetensors; default: the bundled ones; none: random)")
        ->needs(backbone);
    verb->add_option("--image", o->image, "Image file")->required();
    verb->add_option("--out", o->out, "Output folder")->required();
    verb->add_option("--size", o->size, "Side the image is resized to (default: the checkpoint's or preset's)");
    verb->add_option("--device", o->device, "auto | cpu | cuda[:N]")->capture_default_str();
    verb->add_option("--config", *configFile, "Method config JSON over the checkpoint's, as `wsss infer --config`")
        ->needs(checkpoint);
    verb->add_option("--set", *sets, "key=value over the checkpoint's method config, as `wsss infer --set` (repeatable)")
        ->allow_extra_args(false)
        ->needs(checkpoint);
    verb->callback([o, configFile, sets] {
        configureThreads();
        o->configOverrides = configOverrides(*configFile, *sets);
        auto result = exportInspection(*o);
        std::fprintf(stderr, "inspect: %zu files at %d px (%lldx%lld patches) → %s\n", result.files.size(), result.size,
                     static_cast<long long>(result.gridHeight), static_cast<long long>(result.gridWidth), o->out.c_str());
    });
}

} // namespace wsss::training
