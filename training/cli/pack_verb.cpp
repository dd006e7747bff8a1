// `wsss pack`: a checkpoint made fit to share (training/checkpoint/checkpoint_pack.h).
#include "training/checkpoint/checkpoint_pack.h"
#include "training/cli/verbs.h"
#include "training/methods/config_overrides.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>
#include <string>
#include <vector>

namespace wsss::training {

namespace {

std::string megabytes(std::uintmax_t bytes)
{
    char text[32];
    std::snprintf(text, sizeof text, "%.1f MB", static_cast<double>(bytes) / 1e6);
    return text;
}

struct PackFlags {
    PackOptions options;
    std::string configFile;        // --config FILE.json
    std::vector<std::string> sets; // --set key=value
};

void runPack(PackFlags &flags)
{
    flags.options.configOverrides = configOverrides(flags.configFile, flags.sets);
    const PackOptions &o = flags.options;
    const auto r = packCheckpoint(o);
    std::string paths;
    for (const auto &p : r.pathsReduced)
        paths += (paths.empty() ? "" : ", ") + p;
    const std::string tensors = r.tensorsConverted == 0
                                    ? std::to_string(r.tensors) + " tensors as they were"
                                    : std::to_string(r.tensorsConverted) + " of " + std::to_string(r.tensors) +
                                          " tensors stored as " + o.precision;
    std::fprintf(stderr, "pack: %s; %zu paths reduced to their names%s%s%s; %s → %s → %s\n", tensors.c_str(),
                 r.pathsReduced.size(), paths.empty() ? "" : " (", paths.c_str(), paths.empty() ? "" : ")",
                 megabytes(r.bytesIn).c_str(), megabytes(r.bytesOut).c_str(), o.out.c_str());
    if (!o.configOverrides.empty())
        std::fprintf(stderr, "pack: the copy infers with %s\n", o.configOverrides.dump().c_str());
}

} // namespace

void addPackVerb(CLI::App &app)
{
    auto flags = std::make_shared<PackFlags>();
    auto *o = &flags->options;
    auto *verb = app.add_subcommand("pack", "Write a checkpoint to share or bundle: tensors at a lower precision, "
                                            "the paths in its header reduced to their names");
    verb->add_option("--checkpoint", o->in, "The checkpoint.wsss to copy")->required();
    verb->add_option("--out", o->out, "The copy to write")->required();
    verb->add_option("--precision", o->precision,
                     "fp16 or bf16: floating-point tensors stored so (half the size; loading casts back); "
                     "fp32: as they are")
        ->capture_default_str()
        ->check(CLI::IsMember({"fp16", "bf16", "fp32"}));
    verb->add_flag("--force", o->force, "Replace an existing output file");
    verb->add_option("--config", flags->configFile,
                     "Method config JSON stored with the copy (keys that change how maps are made, as `infer --config`)");
    verb->add_option("--set", flags->sets,
                     "key=value stored with the copy, e.g. infer_scale=1 (repeatable; as `infer --set`; recorded as "
                     "\"packed_set\")");
    verb->callback([flags] { runPack(*flags); });
}

} // namespace wsss::training
