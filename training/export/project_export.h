#pragma once
// Exporting a studio project: the pseudo-label dataset a segmentation network trains on. Every
// image of the project's split gets its hand-corrected mask when the masks folder has one, else
// the pseudo-mask of the project's rule and map (through inferDataset, the loop `wsss infer`
// runs, so the studio, `wsss export` and `wsss infer` write the same bytes); rejected images are
// left out. The whole output is written into a staging folder beside it and renamed into place
// once complete: a failure (full disk, no permission, a bad corrected mask) or a stop leaves
// nothing at the output and any earlier export there untouched.
#include "training/checkpoint/checkpoint.h"
#include "training/export/coco_rle.h"
#include "training/export/dataset_inference.h"
#include "training/project/studio_project.h"

#include <cstdint>
#include <filesystem>
#include <string>
#include <vector>

namespace wsss::training {

enum class ExportFormat {
    Voc,  // SegmentationClass/<id>.png (palette, 255 = ignore), ImageSets/Segmentation/<split>.txt
    Coco, // annotations.json: one compressed-RLE annotation per (image, class present)
};

std::string exportFormatName(ExportFormat format);          // "voc" | "coco"
ExportFormat exportFormatFromName(const std::string &name); // wsss::Error naming the value

struct ProjectExportOptions {
    std::filesystem::path out;                  // the dataset folder to make
    ExportFormat format = ExportFormat::Voc;
    bool force = false; // replace a non-empty `out` (once the new export is complete); never one that is or
                        // holds the dataset, the masks folder, the checkpoint or the project file
    std::filesystem::path projectFile;          // recorded in the manifest when set
};

struct ProjectExportResult {
    std::filesystem::path out;          // absolute
    std::int64_t total = 0;             // images in the split
    std::int64_t images = 0;            // images exported
    std::int64_t annotations = 0;       // COCO only: (image, class) annotations
    std::vector<std::string> corrected; // ids whose mask came from the project's masks folder
    std::vector<std::string> rejected;  // ids left out
    std::vector<std::string> skipped;   // ids whose image could not be read (warned)
    bool complete = true;               // false: stopped on request; nothing was written at `out`
};

// Both formats write labelmap.txt and manifest.json: method, checkpoint path and
// "checkpoint_sha256", rule, map, "corrected", "rejected", images count, "format". The model must
// be the project's checkpoint, loaded on `device`. Throws wsss::Error naming the folder and the
// reason when `out` is refused (the dataset or inside it, the masks folder, a non-empty folder
// without force) or the export fails; nothing is left behind then.
ProjectExportResult exportProject(LoadedModel &model, const torch::Device &device, const StudioProject &project,
                                  const ProjectExportOptions &options, const DatasetInferenceCallbacks &callbacks = {});

// The same, loading the project's checkpoint on `device` ("auto", "cpu", "cuda[:N]") first.
ProjectExportResult exportProject(const StudioProject &project, const ProjectExportOptions &options,
                                  const std::string &device = "auto", const DatasetInferenceCallbacks &callbacks = {});

} // namespace wsss::training
