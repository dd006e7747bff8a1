#pragma once
// The safetensors format: an 8-byte little-endian header length, a JSON header
// {name: {dtype, shape, data_offsets}, "__metadata__": {string: string}}, then the raw data.
// Used for pretrained weights and, with a "wsss" metadata entry, for checkpoints.
#include <torch/types.h>

#include <map>
#include <string>

namespace wsss::vision {

struct SafetensorsFile {
    std::map<std::string, torch::Tensor> tensors; // CPU tensors in their stored dtype
    std::map<std::string, std::string> metadata;
};

// Throws wsss::Error naming the file for a missing, truncated or malformed file.
SafetensorsFile readSafetensors(const std::string &path);

// Throws wsss::Error, "<what> \"path\": …", when `path` is missing, a folder, or a PyTorch .pth
// file (with the conversion to use); a file that may be safetensors passes.
void requireSafetensorsFile(const std::string &path, const std::string &what);

// Writes atomically (temporary file + rename). Tensors are stored contiguous, in their dtype
// (float32, float16, bfloat16, int64, int32, uint8 or bool).
void writeSafetensors(const std::string &path, const std::map<std::string, torch::Tensor> &tensors,
                      const std::map<std::string, std::string> &metadata = {});

} // namespace wsss::vision
