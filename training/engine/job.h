#pragma once
// Jobs the engine runs on its worker thread.
#include "training/loop/trainer.h"
#include "training/project/studio_project.h"
#include "training/methods/inspection.h"

#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace wsss::training {

// Load a checkpoint; it replaces the model on the device (one model at a time).
struct LoadModelJob {
    std::string checkpointPath;
    std::string device = "auto"; // auto | cpu | cuda[:N]
};

// Inspect one image with the loaded model. Latest wins: a newer inspect job replaces a
// pending one.
struct InspectJob {
    std::string imageId;
    std::string imagePath;
    std::vector<int> labels; // the image's labelled classes (1..K); empty = use the model's scores
};

// Score the loaded model's pseudo-masks over every image of a split that has a ground-truth
// mask: the background-threshold sweep (mIoU per threshold, the best marked), and at
// `bgThreshold` the per-class IoU, FPR, FNR and each image's IoU. Cancellable between images;
// reports JobProgress per image and ends with EvaluationReady.
struct EvaluateJob {
    std::string dataRoot; // VOC-layout folder
    std::string split = "val";
    float bgThreshold = vision::kDefaultBgThreshold; // where the per-class and per-image scores are taken, in [0, 1]
    int steps = 100;           // sweep thresholds t = i / steps, i = 0..steps-1
    // The rule's refinements: with either, the masks scored are the refined ones the studio
    // shows and an export writes, and the sweep is of refined masks (vision/metrics/refined_sweep.h:
    // PAR once per image; with the CRF a CRF per threshold, on a grid of 0.05 instead of 1/steps).
    int parIterations = 0;
    bool crf = false;
    std::string crfPreset = "psa"; // the CRF's parameters (vision/refine/dense_crf_params.h)
};

// The rule's refinements (PAR, CRF) on one kind of a cached inspection's maps: no model call,
// but too slow for the GUI thread. Latest wins like InspectJob; ends with RefinementReady.
struct RefineJob {
    std::shared_ptr<const Inspection> inspection;
    std::string mapKind;
    vision::PseudoLabelRule rule;
};

// The loaded model over every image of a split, each pseudo-mask under `rule` written to `out`
// as a palette PNG with the split's list, the label map and manifest.json (as `wsss infer`).
// Reports JobProgress after each image; cancellable between images, leaving what was written.
struct InferDatasetJob {
    std::string dataRoot; // VOC-layout folder
    std::string split = "val";
    std::string out;
    vision::PseudoLabelRule rule;
    std::string mapKind; // "" = the method's primary map
};

// Train (or, with options.resume, continue) a run as `wsss train` does, writing the same run
// folder. Reports TrainingStep after every step, TrainingValidated at each validation and
// CheckpointSaved at each save; pause and resume between steps. Load, inspect and refine jobs
// submitted meanwhile run between two steps (the training's random state is kept across them,
// so the run's curve is the one it has alone); other jobs wait for the training to end. Cancel
// saves the step reached, so the run can be resumed from it.
struct TrainJob {
    TrainOptions options;
};

// A project's pseudo-label dataset (training::exportProject, the same code as `wsss export`): the
// project's checkpoint is loaded for it on the engine's device, beside the studio's model. Reports
// JobProgress per image; cancellable between images, leaving nothing at the output; ends with
// ProjectExported.
struct ExportProjectJob {
    StudioProject project;
    std::filesystem::path projectFile; // recorded in the manifest
    std::filesystem::path out;
    std::string format = "voc"; // voc | coco
    bool force = false;         // replace a non-empty `out` (the user confirmed)
};

using Job = std::variant<LoadModelJob, InspectJob, EvaluateJob, RefineJob, InferDatasetJob, TrainJob, ExportProjectJob>;

} // namespace wsss::training
