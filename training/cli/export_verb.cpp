// `wsss export`: a studio project's pseudo-label dataset (VOC folder or COCO JSON), the same
// files the studio's export writes.
#include "training/cli/progress_bar.h"
#include "training/cli/verbs.h"
#include "training/export/project_export.h"
#include "training/project/studio_project.h"

#include <CLI/CLI.hpp>

#include <cstdio>
#include <memory>

namespace wsss::training {

namespace {

struct ExportOptions {
    std::string project, out, format = "voc", device = "auto";
    bool force = false;
};

void runExport(const ExportOptions &o)
{
    configureThreads();
    const auto project = readStudioProject(o.project);
    ProjectExportOptions options;
    options.out = o.out;
    options.format = exportFormatFromName(o.format);
    options.force = o.force;
    options.projectFile = o.project;
    std::unique_ptr<ProgressBar> bar;
    const auto result = exportProject(project, options, o.device, datasetProgress("export", bar));
    const std::string summary = "→ " + result.out.string() + " (" + o.format + ": " + std::to_string(result.images) +
                                " images, " + std::to_string(result.corrected.size()) + " corrected, " +
                                std::to_string(result.rejected.size()) + " rejected)";
    if (bar)
        bar->finish(summary);
    else
        std::fprintf(stderr, "%s\n", summary.c_str());
}

} // namespace

void addExportVerb(CLI::App &app)
{
    auto o = std::make_shared<ExportOptions>();
    auto *verb = app.add_subcommand("export", "Write a project's pseudo-label dataset: corrected masks where made, "
                                              "the rule's pseudo-masks elsewhere, rejected images left out");
    verb->add_option("--project", o->project, "The project (.wsssproj)")->required();
    verb->add_option("--out", o->out, "Output folder (written beside it, renamed into place when complete)")->required();
    verb->add_option("--format", o->format, "voc: SegmentationClass/ palette PNGs; coco: annotations.json (RLE)")
        ->capture_default_str()
        ->check(CLI::IsMember({"voc", "coco"}));
    verb->add_flag("--force", o->force, "Replace a non-empty output folder (once the new export is complete)");
    verb->add_option("--device", o->device, "auto | cpu | cuda[:N]")->capture_default_str();
    verb->callback([o] { runExport(*o); });
}

} // namespace wsss::training
