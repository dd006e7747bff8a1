#include "training/cli/verbs.h"
#include "training/export/inspection_export.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>

namespace wsss::training {

void addInspectVerb(CLI::App &app)
{
    auto o = std::make_shared<InspectExportOptions>();
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
    verb->callback([o] {
        configureThreads();
        auto result = exportInspection(*o);
        std::fprintf(stderr, "inspect: %zu files at %d px (%lldx%lld patches) → %s\n", result.files.size(), result.size,
                     static_cast<long long>(result.gridHeight), static_cast<long long>(result.gridWidth), o->out.c_str());
    });
}

} // namespace wsss::training
