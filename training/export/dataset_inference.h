#pragma once
// Pseudo-masks for a whole dataset split under one rule: the loaded model over every image, each
// mask written as a palette PNG, then the split's image list, the label map and manifest.json
// (method, checkpoint and its SHA-256, rule). Shared by `wsss infer`, the engine's InferDatasetJob
// and a project's export (project_export.h).
#include "training/checkpoint/checkpoint.h"
#include "vision/labels/pseudo_label_rule.h"

#include <cstdint>
#include <functional>
#include <set>
#include <string>
#include <vector>

namespace wsss::training {

class ProcessGroup;

struct DatasetInferenceOptions {
    std::string checkpoint;       // recorded in the manifest (made absolute)
    std::string data;             // VOC-layout folder
    std::string split = "val";
    std::string out;              // folder: SegmentationClass/<id>.png, ImageSets/, labelmap.txt, manifest.json
    vision::PseudoLabelRule rule;
    std::string map;              // which of the method's maps ("" = its primary one)
    bool saveMaps = false;        // also maps/<id>.npy (float32 [C, H, W], image size)
    std::string checkpointSha256; // recorded as "checkpoint_sha256"; "" = hashed from `checkpoint` here

    // A studio project's export (training/export/project_export.h) goes through the same loop, so
    // the studio and `wsss export` make the very masks `wsss infer` makes:
    std::string correctedMasks;   // folder of hand-corrected <id>.png: an image with one takes it (same
                                  // size as the image, classes of the label map or 255) instead of its
                                  // pseudo-mask; listed under "corrected" in the manifest
    std::set<std::string> leaveOut; // ids not written (rejected in review); listed under "rejected"
    bool discardOnFailure = false;  // the caller removes `out` when this throws (an export's staging
                                    // folder): no manifest is rewritten after a failed write
    // `wsss infer --distributed`: this process infers the items i with i % worldSize == rank
    // (training/distributed/data_shard.h); rank 0 alone checks, locks and prepares `out`, and
    // writes the list and manifest of every rank's masks at the end. `out` must be one folder for
    // every rank (one machine, or a shared file system). Null: one process does it all.
    ProcessGroup *group = nullptr;
};

struct DatasetInferenceCallbacks {
    std::function<void(const std::string &)> warning;               // a dataset warning or a skipped image
    std::function<void(std::int64_t total)> started;                // the split is read; images follow
    std::function<void(std::int64_t done, std::int64_t total, const std::string &id)> progress; // after each image
    std::function<bool()> stopRequested;                            // polled before each image
};

struct DatasetInferenceResult {
    std::int64_t total = 0;   // images in the split
    std::int64_t written = 0; // masks written
    std::vector<std::string> skipped;
    std::vector<std::string> corrected; // ids whose mask came from options.correctedMasks
    std::vector<std::string> leftOut;   // ids of the split in options.leaveOut, not written
    bool complete = true;     // false: stopped on request before the last image, or a write failed
    std::string error;        // the failed write, when one did
};

// Masks already written stay when an image fails (it is skipped with a warning) or when stopped:
// the list and manifest then name what was written ("complete": false). A failed write (full disk,
// no permission) stops the run: the list and manifest name what was written, with "complete":
// false and the "error", and wsss::Error is thrown. The output folder must be new, empty or an
// earlier output (never the dataset or a folder of other files), and is locked while written; a
// checkpoint whose classes are not the dataset's is refused. A map kind the method lacks is an
// UnknownMapError at the first image (nothing is written). A corrected mask that does not fit its
// image (another size, a class the label map lacks) throws wsss::Error naming the file: it is a
// person's work to fix, not an image to skip (the manifest still says "complete": false).
DatasetInferenceResult inferDataset(LoadedModel &model, const torch::Device &device,
                                    const DatasetInferenceOptions &options, const DatasetInferenceCallbacks &callbacks);

} // namespace wsss::training
