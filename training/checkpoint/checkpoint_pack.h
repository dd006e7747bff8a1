#pragma once
// A checkpoint made fit to share or to bundle with the application: its floating-point tensors
// stored at a lower precision (loading casts them back to the model's float32, so an fp16 copy
// is half the size and its maps move only by fp16's rounding), and the absolute paths its header
// recorded (the training data, an ECA guider's file) reduced to their last component, so the copy
// names no folder of the machine it was trained on. The guider's weights travel inside the
// checkpoint and its preset is stored resolved, so a reload needs none of those files. Config keys
// that change how maps are made (`--set`, as `wsss infer` takes them) can be stored with the copy,
// so it infers with them by default.
#include <nlohmann/json.hpp>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace wsss::training {

struct PackOptions {
    std::string in, out;
    std::string precision = "fp16"; // fp16 | bf16 | fp32 (paths reduced, tensors as they are)
    bool force = false;             // replace an existing `out` (never `in` itself)
    // Method config keys stored with the copy (e.g. {"infer_scale": 1}); recorded under "packed_set".
    nlohmann::json configOverrides = nlohmann::json::object();
};

struct PackResult {
    std::size_t tensors = 0;          // all the file's tensors
    std::size_t tensorsConverted = 0; // the floating-point ones stored at the new precision
    std::uintmax_t bytesIn = 0, bytesOut = 0;
    std::vector<std::string> pathsReduced; // where in the header, e.g. "config.guider", "train.data"
};

// Throws wsss::Error naming the file when `in` is not a WSSS Studio checkpoint, `out` is `in`,
// `out` exists without `force`, the precision is unknown, or an override is not a key of the
// method, changes its layers or names other weights (ECA's guider). The write is atomic.
PackResult packCheckpoint(const PackOptions &options);

} // namespace wsss::training
