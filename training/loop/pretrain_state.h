#pragma once
// What an interrupted `wsss pretrain` needs to go on exactly where it stopped: its options, the
// step, the smoothed loss, both random generators, the model with its head, the EMA and the
// optimiser's moments. Saved as OUT.resume beside the output every --save-every steps (atomically:
// a kill leaves the previous state), and removed once OUT is written, so a long pretraining runs
// in as many sittings as it takes, on one schedule.
#include "training/loop/pretrainer.h"

#include <nlohmann/json.hpp>
#include <torch/nn/module.h>
#include <torch/optim/optimizer.h>

#include <cstdint>
#include <filesystem>
#include <random>
#include <string>

namespace wsss::training {

// OUT.resume, the state of the pretraining whose output is `out`.
std::filesystem::path pretrainStatePath(const std::string &out);

// The options that define a run (everything but out, device, resume and saveEvery, which belong
// to the sitting), as saved in its state.
nlohmann::json pretrainRunOptions(const PretrainOptions &options);
// `sitting` with the run-defining options of a saved state's JSON put back; evalEvery too, unless
// the sitting gives one of its own (> 0).
PretrainOptions withRunOptions(const PretrainOptions &sitting, const nlohmann::json &saved);

struct PretrainState {
    nlohmann::json options; // pretrainRunOptions of the run
    std::int64_t step = 0;  // optimiser steps done
    double smoothedLoss = 0;
    double seconds = 0;     // wall time of the sittings so far
};

// Writes the state atomically to pretrainStatePath(out); a failed write (full disk, read-only
// folder) throws wsss::Error naming the file and leaves the previous state as it was.
void savePretrainState(const std::string &out, const PretrainState &state, const std::mt19937_64 &rng,
                       torch::nn::Module &model, torch::nn::Module &ema, const torch::optim::Optimizer &optimizer);
// The options and counters of a saved state, without the tensors (to build the model first).
PretrainState peekPretrainState(const std::string &out);
// Reads the tensors and generators of the state into the model, the EMA (may be the model itself
// when the run has none), the optimiser and `rng`; throws wsss::Error naming the file when it
// does not fit them.
void loadPretrainState(const std::string &out, std::mt19937_64 &rng, torch::nn::Module &model, torch::nn::Module &ema,
                       torch::optim::Optimizer &optimizer);

} // namespace wsss::training
