#pragma once
// What a run needs besides its checkpoint to continue exactly where it stopped: the optimiser's
// moments, the step, the smoothed loss, the sampler's position and every random generator.
// Saved as RUN/resume-<step>.state next to the checkpoint of the same step. The order of a save is
// new state, then the checkpoint (the switch), then the removal of older states: a kill at any
// point leaves the checkpoint on disk with the state of its own step.
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
    // Which model the optimiser state belongs to: "method backbone", then every parameter's shape,
    // so a checkpoint of another run swapped into the folder is named, not failed on deep inside
    // the optimiser. Empty in states written before it was recorded.
    std::string model;
};

// The `model` signature of a method's parameters, as saved and checked.
std::string resumeModelSignature(const std::string &method, const std::string &backbone,
                                 const torch::optim::Optimizer &optimizer);

std::filesystem::path resumeStatePath(const std::filesystem::path &runDir, std::int64_t step);

// Snapshot of the generators and the sampler, with the optimiser written alongside.
ResumeState captureResumeState(std::int64_t step, double smoothedLoss, const std::mt19937_64 &rng,
                               const TrainingSet &set, const torch::Device &device);
// Atomic write; the state of other steps stays (removeResumeStates with keep, once the checkpoint of
// this step is in place).
void saveResumeState(const std::filesystem::path &runDir, const ResumeState &state,
                     const torch::optim::Optimizer &optimizer);
// Reads RUN/resume-<step>.state into `optimizer` and returns the rest; throws wsss::Error naming
// the file when it is missing, unreadable or written for another model than `model`.
ResumeState loadResumeState(const std::filesystem::path &runDir, std::int64_t step,
                            torch::optim::Optimizer &optimizer, const std::string &model);
// Puts the generators and the sampler back.
void restoreResumeState(const ResumeState &state, std::mt19937_64 &rng, TrainingSet &set,
                        const torch::Device &device);
// Removes the resume states of every step but `keep` (-1: all of them, as a finished run cannot
// be resumed).
void removeResumeStates(const std::filesystem::path &runDir, std::int64_t keep = -1);

} // namespace wsss::training
