#pragma once
// What a run folder holds, read without loading a model: for the studio's runs panel and its
// --follow mode, which watch runs that `wsss train` or the studio's worker write. LibTorch-free.
#include <nlohmann/json.hpp>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace wsss::training {

// One line of RUN/metrics.jsonl: a training step's losses and learning rate, or a validation
// ({"step": N, "val": {"val_miou": …}}), or both.
struct MetricsLine {
    std::int64_t step = 0;
    std::optional<double> lr;
    std::map<std::string, double> losses; // by name, "total" among them
    std::map<std::string, double> logs;   // figures that are not losses ("logs": AFA's "ignored")
    std::map<std::string, double> val;    // empty unless the line is a validation
};

// Reads RUN/metrics.jsonl from byte `offset` on: the whole lines there, and the offset after the
// last whole line (a line still being written is left for the next read). A line that is not
// JSON is skipped with a warning naming the file and line.
struct MetricsChunk {
    std::vector<MetricsLine> lines;
    std::uint64_t nextOffset = 0;
    std::vector<std::string> warnings;
};
MetricsChunk readMetrics(const std::string &metricsPath, std::uint64_t offset = 0);

// A step log (metrics.jsonl, a pretraining's curve) of a resumed run: the lines up to `step` stay,
// later ones (written after the last save, before the interruption) go; rewritten atomically.
void keepLinesUpToStep(const std::string &jsonlPath, std::int64_t step);

enum class RunState {
    Training, // a process holds the folder's lock (wsss train, or a studio's worker)
    Finished, // the checkpoint is of the last step
    Stopped,  // a checkpoint before the last step, nobody training: --resume continues it
    Empty,    // metrics but no checkpoint yet (killed before its first save)
};
const char *runStateName(RunState state); // "training", "finished", "stopped", "empty"

struct RunCheckpoint {
    std::string path;
    std::int64_t step = 0;
};

struct RunDescription {
    std::string dir;
    std::string method, backbone, data; // from the checkpoint's header (or the resume state's options)
    std::int64_t step = 0;              // the latest checkpoint's
    std::int64_t total = 0;             // the run's --iters
    RunState state = RunState::Empty;
    std::string holder;                 // who trains it, when state is Training
    std::optional<double> bestValMiou;  // the best val_miou of the metrics and the checkpoint
    // checkpoint.wsss (the latest) and the copies kept per save (checkpoint-step<N>.wsss), by step.
    std::vector<RunCheckpoint> checkpoints;
    std::string problem; // why checkpoint.wsss could not be read (cut short, being replaced), else ""
};

// Throws wsss::Error naming the folder when it holds neither checkpoint.wsss nor metrics.jsonl.
RunDescription describeRun(const std::string &dir);
// The runs among `parent`'s immediate subfolders (and `parent` itself when it is one), by name.
std::vector<RunDescription> listRuns(const std::string &parent);

} // namespace wsss::training
