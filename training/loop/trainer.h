#pragma once
// The training loop shared by every method: data, optimiser, schedule, logging, checkpoints.
// The CLI's `wsss train` and the engine's train job both call train().
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace wsss::training {

class CancelToken;
class ProcessGroup;

struct TrainOptions {
    std::string method;                    // a registered method name
    std::string data;                      // VOC-layout dataset folder
    std::string split = "train";           // list under ImageSets/Segmentation
    std::string valSplit = "val";          // scored after training when it exists ("none": skip)
    std::string out;                       // run folder: checkpoint.wsss, metrics.jsonl
    std::string backbone = "vit_demo_patch8";
    std::string weights;                   // "" = the preset's bundled weights, "none" = scratch
    std::string device = "auto";           // auto | cpu | cuda[:N]
    std::string precision = "fp32";        // fp32 | bf16: the steps' forward under autocast (vision/core/precision.h)
    int iters = 1000;                      // optimiser steps
    int batch = 8;
    int size = 128;                        // training crop side, pixels
    // Overrides of the method's recipe (its official optimiser and schedule); unset = the method's.
    std::optional<double> lr;              // peak learning rate of the heads
    std::optional<double> backboneLrScale; // backbone lr = lr × this
    std::optional<double> weightDecay;
    std::optional<int> warmup;             // linear warm-up steps
    std::uint64_t seed = 0;
    std::string configFile;                // method config JSON (--config), over the defaults
    std::vector<std::string> sets;         // key=value overrides (--set), applied last
    int logEvery = 10;                     // steps between metrics.jsonl lines
    int saveEvery = 1000;                  // steps between checkpoints (and resume states)
    int valEvery = 0;                      // steps between validations on valSplit (0: only at the end)
    bool keepCheckpoints = false;          // keep each save's checkpoint as RUN/checkpoint-step<N>.wsss
    bool resume = false;                   // continue the run in `out` with its stored options
    bool force = false;                    // start over in an `out` that holds a run
    bool saveOnCancel = false;             // a cancel saves the step reached first (the studio's Cancel); not stored
    // One of WORLD_SIZE processes (training/distributed/, README "Training across processes"):
    // `batch` per process, gradients averaged over them; only rank 0 writes `out`. Not stored:
    // a resumed run is distributed when given anew.
    bool distributed = false;
};

// An allocation failure of LibTorch: CUDA's OutOfMemoryError, the studio's CPU allocator's, or
// LibTorch's default CPU allocator's ("can't allocate memory", "not enough memory").
bool isOutOfMemory(const std::exception &e);

struct StepLog {
    std::int64_t step = 0;
    std::int64_t total = 0;
    double lr = 0;
    std::map<std::string, double> losses; // the terms of the loss, "total" among them
    std::map<std::string, double> logs;   // figures that are not losses (AFA's share of ignored pixels)
};

// The writes of one save, in order; a run killed between two of them resumes all the same.
enum class SavePoint {
    StateWritten,      // RUN/resume-<step>.state of the new step is in place
    CheckpointWritten, // RUN/checkpoint.wsss is the new step's
    OldStatesRemoved,  // the states of earlier steps are gone
};

struct TrainCallbacks {
    std::function<void(const StepLog &)> onStep;          // after every step
    std::function<void(const std::string &)> onWarning;   // skipped files and the like
    std::function<void(SavePoint, std::int64_t step)> onSave; // after each write of a save
    // RUN/checkpoint.wsss now holds `step` (every save, the last one and a cancelled run's too);
    // `keptPath` is the step's own copy, "" unless keepCheckpoints.
    std::function<void(std::int64_t step, const std::string &keptPath)> onCheckpoint;
    // Validation scores of the pseudo-masks on valSplit (see validation.h), every valEvery steps
    // and at the end; also written to metrics.jsonl as {"step": N, "val": {…}}.
    std::function<void(std::int64_t step, const std::map<std::string, double> &scores)> onValidation;
};

struct TrainResult {
    std::string checkpointPath;
    std::int64_t steps = 0;
    double seconds = 0;
    double finalLoss = 0;
    std::map<std::string, double> metrics; // validation figures stored in the checkpoint
};

// The options' own problems (a missing --out, a non-positive count, a size the backbone cannot
// take), each saying what to change; train() refuses with the first. Files are not looked at.
std::vector<std::string> optionProblems(const TrainOptions &options);

// Trains and writes RUN/checkpoint.wsss and RUN/metrics.jsonl, saving every saveEvery steps
// (with RUN/resume-<step>.state, removed when the run ends). With `resume`, continues the run in
// `out` from its checkpoint with the options stored there (the device, the dataset folder and the
// learning rate may be given anew); the loss curve is the one an uninterrupted run gives. The run
// folder is locked while it trains; a folder holding a run is refused unless `resume` or `force`.
// Throws wsss::Error on bad input, a non-finite loss or a failed save (the last good checkpoint
// stays on disk with its resume state). A set `cancel` is seen between steps and throws Cancelled,
// after saving the step reached (checkpoint and resume state) when saveOnCancel.
// A distributed run joins `group`, or with none one made from the launcher's environment
// (DistributedContext::fromEnvironment); ranks other than 0 write nothing and return a result
// without a checkpoint path.
TrainResult train(const TrainOptions &options, const TrainCallbacks &callbacks = {},
                  const CancelToken *cancel = nullptr, ProcessGroup *group = nullptr);

} // namespace wsss::training
