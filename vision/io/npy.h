#pragma once
// NumPy .npy files (format v1.0 out; v1.0-3.0 in) for float maps exchanged with Python tools.
#include <cstdint>
#include <string>
#include <vector>

namespace wsss::vision {

// A C-order float array; data.size() == product of shape (1 for a 0-d array).
struct NpyArray {
    std::vector<std::int64_t> shape;
    std::vector<float> data;
    std::string dtype; // as stored in the file: "<f4" or "<f8" (data is float either way)
};

// Writes '<f4', C order, header padded to a multiple of 64 bytes, atomically.
void writeNpy(const std::string &path, const float *data, const std::vector<std::int64_t> &shape);

// Reads '<f4' or '<f8' (converted to float), C order only; throws wsss::Error naming the file.
NpyArray readNpy(const std::string &path);

} // namespace wsss::vision
