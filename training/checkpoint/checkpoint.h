#pragma once
// A checkpoint is one file: the model's tensors plus a JSON header (method, backbone, config,
// class names, step, metrics), stored as a safetensors file whose "wsss" metadata entry is the
// header, so the studio can open it with no other input and Python can read its tensors.
#include "training/methods/method.h"
#include "vision/core/labels.h"

#include <nlohmann/json.hpp>

#include <map>
#include <memory>
#include <optional>
#include <string>

namespace wsss::vision {
struct SafetensorsFile;
}

namespace wsss::training {

struct CheckpointHeader {
    std::string method;
    std::string backbone;
    vision::LabelMap labelMap;      // background first
    nlohmann::json config = nlohmann::json::object(); // the method's resolved config
    int inputSize = 128;            // the side images are resized to for inference
    std::int64_t step = 0;
    nlohmann::json metrics = nlohmann::json::object();
    nlohmann::json train = nlohmann::json::object(); // the training options of the run
    // The backbone's input normalisation (the loaded weights' family may differ from the
    // preset's); saveCheckpoint writes the model's, loadCheckpoint restores it. Absent in older
    // checkpoints: the preset's.
    std::optional<vision::Normalization> normalization;

    nlohmann::json toJson() const;
    static CheckpointHeader fromJson(const nlohmann::json &json, const std::string &source);
    MethodSpec spec() const;
};

struct LoadedModel {
    CheckpointHeader header;          // its config with the overrides applied
    std::shared_ptr<Method> method;
    nlohmann::json configOverrides = nlohmann::json::object(); // what was changed at load, if anything
    std::string precision = "fp32"; // bf16: inferImage runs the method under autocast (vision/core/precision.h)
};

// Atomic write: a crash or a full disk leaves the previous checkpoint intact.
void saveCheckpoint(const std::string &path, const CheckpointHeader &header, Method &method);
// Rebuilds the method from the header and loads its tensors (strictly), on `device`. Overrides
// (`wsss infer --set`) are merged over the stored config first (JSON merge patch): keys that
// change only how maps are made (affinity_refine, cam_normalization, flip_inference, …) apply to
// a trained model; one that changes its layers fails on the tensors, with a message saying so.
LoadedModel loadCheckpoint(const std::string &path, const torch::Device &device = torch::kCPU,
                           const nlohmann::json &configOverrides = nlohmann::json::object());
// The same from a file already read with vision::readSafetensors (`path` names it in messages);
// the file is left as it is.
LoadedModel loadCheckpoint(const vision::SafetensorsFile &file, const std::string &path, const torch::Device &device,
                           const nlohmann::json &configOverrides);
// Only the header (cheap: no tensors are built).
CheckpointHeader readCheckpointHeader(const std::string &path);

// The "wsss" metadata entry of a file read with vision::readSafetensors, parsed; wsss::Error
// naming `path` when it is missing (not a checkpoint) or not JSON.
nlohmann::json checkpointHeaderJson(const std::map<std::string, std::string> &metadata, const std::string &path);

} // namespace wsss::training
