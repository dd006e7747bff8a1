#pragma once
// Events the engine reports, each carrying the id of its job. Delivered on the worker thread
// through the engine's sink; ui/engine/engine_bridge turns them into queued Qt signals.
#include "training/methods/inspection.h"

#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <variant>
#include <vector>

namespace wsss::training {

using JobId = std::uint64_t;

// What a loaded checkpoint is: enough for the studio to label its panels.
struct ModelInfo {
    std::string checkpointPath;
    std::string method;
    std::string backbone;
    std::string device;
    std::vector<std::string> classNames; // background first
    int inputSize = 0;
    int patchSize = 0;
    int layers = 0;
    int heads = 0;
    std::int64_t step = 0;
    // The background threshold the checkpoint's validation sweep found best; NaN when the
    // checkpoint records none.
    double bestBgThreshold = std::numeric_limits<double>::quiet_NaN();
};

// The scores of one split under the model's pseudo-masks (EvaluateJob). Class vectors are
// indexed like classNames; NaN where a class is absent from the ground truth.
struct EvaluationResult {
    std::string dataRoot, split;
    std::vector<std::string> classNames; // background first
    // The background-threshold sweep: mIoU at thresholds[i]. Empty for methods that predict
    // background themselves (no threshold to sweep); then bestIndex is -1.
    std::vector<double> thresholds;
    std::vector<double> sweepMiou;
    int bestIndex = -1;
    // At `threshold` (the job's bgThreshold), under the job's refinements (0 / false: none).
    float threshold = vision::kDefaultBgThreshold;
    int parIterations = 0;
    bool crf = false;
    std::string crfPreset = "psa";
    // The method scores the background itself (ECA, ViT-PCM, supervised): the masks are the
    // argmax with its background, the threshold decided nothing and there is no sweep.
    bool ownBackground = false;
    double miou = 0, meanFpr = 0, meanFnr = 0;
    std::vector<double> iou, fpr, fnr;
    struct ImageScore {
        std::string imageId;
        double miou = 0; // over the classes present in this image's ground truth
        std::vector<float> classScores; // the classifier's, per foreground class (k-1 for class k), sigmoid
    };
    std::vector<ImageScore> images; // in split order, scored images only
    int skipped = 0;                // images without a mask or that failed to load
};

struct JobStarted { JobId id; std::string what; };
struct JobProgress { JobId id; std::int64_t done; std::int64_t total; std::string message; };
// A warning or information line (a skipped corrupt file, a loss value).
struct JobLog { JobId id; std::string message; };
struct ModelLoaded { JobId id; ModelInfo info; };
struct InspectionReady { JobId id; std::shared_ptr<const Inspection> inspection; };
struct EvaluationReady { JobId id; std::shared_ptr<const EvaluationResult> result; };
struct RefinementReady { JobId id; std::shared_ptr<const RefinedMaps> refined; };
// An InferDatasetJob's end (also when cancelled, before JobCancelled): what is on disk.
struct DatasetInferred { JobId id; std::string out; std::int64_t written; std::int64_t total; bool complete; };
// An ExportProjectJob's success: the dataset is in place at `out`.
struct ProjectExported { JobId id; std::string out; std::int64_t images; std::int64_t corrected; std::int64_t rejected; };
// A TrainJob's step: its losses by name ("total" among them) and learning rate, the speed over
// the last steps and the time left at that speed.
struct TrainingStep {
    JobId id;
    std::int64_t step = 0, total = 0;
    double lr = 0;
    std::map<std::string, double> losses; // the loss terms, "total" among them
    double stepsPerSecond = 0;
    double secondsLeft = 0;
    std::map<std::string, double> logs; // figures that are not losses (AFA's "ignored" share)
};
// A TrainJob's validation of its pseudo-masks on the run's val split: "val_miou", "val_fpr",
// "val_fnr", "val_images" and, for methods that threshold background, "best_bg_threshold" and
// "val_miou_best".
struct TrainingValidated { JobId id; std::int64_t step; std::map<std::string, double> scores; };
// A checkpoint of a TrainJob is on disk (RUN/checkpoint.wsss, and the step's own copy).
struct CheckpointSaved { JobId id; std::string path; std::int64_t step; };
// A TrainJob stopped between two steps (paused) or went on (not paused).
struct TrainingPaused { JobId id; bool paused; std::int64_t step; };
struct JobFailed { JobId id; std::string message; };
struct JobCancelled { JobId id; };
struct JobFinished { JobId id; };
// A queued latest-wins job (inspect, refine) that a newer one of its kind took the place of
// before it started: its end, as final as JobFinished.
struct JobReplaced { JobId id; JobId by; };

// Every submitted job ends with exactly one of JobFinished, JobFailed, JobCancelled, JobReplaced.
using Event = std::variant<JobStarted, JobProgress, JobLog, ModelLoaded, InspectionReady,
                           EvaluationReady, RefinementReady, DatasetInferred, ProjectExported, TrainingStep,
                           TrainingValidated, CheckpointSaved, TrainingPaused, JobFailed,
                           JobCancelled, JobFinished, JobReplaced>;

} // namespace wsss::training
