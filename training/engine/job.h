#pragma once
// Jobs the engine runs on its worker thread.
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

using Job = std::variant<LoadModelJob, InspectJob>;

} // namespace wsss::training
