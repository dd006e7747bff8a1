#pragma once
// What a run needs besides its checkpoint to continue exactly where it stopped: the optimiser's
// moments, the step, the smoothed loss, the sampler's position and every random generator.
// Saved as RUN/resume-<step>.state next to the checkpoint of the same step, so a crash between
// the two writes never pairs a checkpoint with another step's optimiser.
#include "training/data/dataset.h"

#include <torch/optim/optimizer.h>

#include <cstdint>
#include <filesystem>
#include <random>
#include <string>

namespace wsss::training {

struct ResumeState {
    std::int64_t step = 0;      // optimiser steps done
    double smoothedLoss = 0;
    std::string sampleRng;      // std::mt19937_64 state, as its operator<< writes it
    TrainingSet::Position sampler;
    torch::Tensor torchRng;     // the CPU generator's state (drop-path, dropout, random ops)
    torch::Tensor cudaRng;      // the CUDA generator's state; undefined on CPU runs
};

std::filesystem::path resumeStatePath(const std::filesystem::path &runDir, std::int64_t step);

// Snapshot of the generators and the sampler, with the optimiser written alongside.
ResumeState captureResumeState(std::int64_t step, double smoothedLoss, const std::mt19937_64 &rng,
                               const TrainingSet &set, const torch::Device &device);
// Atomic write; removes the state files of other steps once it is in place.
void saveResumeState(const std::filesystem::path &runDir, const ResumeState &state,
                     const torch::optim::Optimizer &optimizer);
// Reads RUN/resume-<step>.state into `optimizer` and returns the rest; throws wsss::Error naming
// the file when it is missing or unreadable.
ResumeState loadResumeState(const std::filesystem::path &runDir, std::int64_t step,
                            torch::optim::Optimizer &optimizer);
// Puts the generators and the sampler back.
void restoreResumeState(const ResumeState &state, std::mt19937_64 &rng, TrainingSet &set,
                        const torch::Device &device);
// Removes every resume state of a run (a finished run cannot be resumed).
void removeResumeStates(const std::filesystem::path &runDir);

} // namespace wsss::training
