#pragma once
// Events the engine reports, each carrying the id of its job. Delivered on the worker thread
// through the engine's sink; ui/engine/engine_bridge turns them into queued Qt signals.
#include "training/methods/inspection.h"

#include <cstdint>
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
};

struct JobStarted { JobId id; std::string what; };
struct JobProgress { JobId id; std::int64_t done; std::int64_t total; std::string message; };
// A warning or information line (a skipped corrupt file, a loss value).
struct JobLog { JobId id; std::string message; };
struct ModelLoaded { JobId id; ModelInfo info; };
struct InspectionReady { JobId id; std::shared_ptr<const Inspection> inspection; };
struct JobFailed { JobId id; std::string message; };
struct JobCancelled { JobId id; };
struct JobFinished { JobId id; };

using Event = std::variant<JobStarted, JobProgress, JobLog, ModelLoaded, InspectionReady,
                           JobFailed, JobCancelled, JobFinished>;

} // namespace wsss::training
