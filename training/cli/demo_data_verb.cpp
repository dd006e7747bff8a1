#include "training/cli/progress_bar.h"
#include "training/cli/verbs.h"
#include "training/data/demo_generator.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>

namespace wsss::training {

void addDemoDataVerb(CLI::App &app)
{
    auto options = std::make_shared<DemoDataOptions>();
    auto *verb = app.add_subcommand("demo-data", "Generate the demo dataset (Fashion-MNIST composites, VOC layout)");
    verb->add_option("--out", options->out, "Output folder")->required();
    verb->add_option("--train", options->train, "Train images (from the train split)")->capture_default_str();
    verb->add_option("--val", options->val, "Val images (from the test split)")->capture_default_str();
    verb->add_option("--size", options->size, "Image side in pixels")->capture_default_str();
    verb->add_option("--seed", options->seed, "Random seed")->capture_default_str();
    verb->add_option("--backgrounds", options->backgrounds, "Folder of background photos (default: procedural textures)");
    verb->callback([options] {
        ProgressBar bar("demo-data", options->train + options->val);
        generateDemoData(*options, [&](int done, int total) { bar.update(done); });
        bar.finish("→ " + options->out);
    });
}

} // namespace wsss::training
