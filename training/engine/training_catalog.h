#pragma once
// What the studio can offer to train, with the defaults it shows: the registered methods with
// their official config and recipe, the backbone presets, the devices LibTorch sees, and the
// checks a run's options must pass before a job is submitted. LibTorch-free, for ui/.
#include "training/loop/trainer.h"

#include <nlohmann/json.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace wsss::training {

struct MethodDescription {
    std::string name;
    nlohmann::json config; // every field of the method's config at its default (the official value)
    nlohmann::json recipe; // the optimiser and schedule its official code uses (TrainRecipe::toJson)
    bool needsMasks = false; // trains on ground-truth masks (the supervised upper bound)
};
std::vector<MethodDescription> methodCatalog();

std::vector<std::string> backbonePresets();

struct DeviceDescription {
    std::string id;    // as --device takes it: "cpu", "cuda:0", …
    std::string label; // for a menu: "CPU (2 threads)", "cuda:0 — NVIDIA H100 (79 GiB)"
    std::int64_t totalBytes = 0; // device memory (0 for the CPU)
};
std::vector<DeviceDescription> availableDevices(); // the CPU first

// What would stop the run before its first step, each message saying what to change: a missing
// or unreadable weights file, a dataset folder that is not one or whose split has no labelled
// image (or, for a method that needs masks, none with a mask), a batch larger than the split, a
// crop size the backbone cannot take, an unknown config field, a run folder that holds a run
// (unless resume or force) or that another process trains in, a CUDA device LibTorch does not
// see. Empty when the run can start.
std::vector<std::string> checkTrainOptions(const TrainOptions &options);

} // namespace wsss::training
