#pragma once
// `wsss inspect`: one image's inspection as .npy files, for people who make figures or compare
// with other code (NumPy reads them as they are).
#include <nlohmann/json.hpp>

#include <string>
#include <vector>

namespace wsss::training {

struct InspectExportOptions {
    std::string checkpoint;          // a trained method, or
    std::string backbone;            // a bare backbone preset ...
    std::string weights;             // ... with these weights ("" = bundled if any, "none" = random)
    std::string image;               // RGB image file
    std::string out;                 // folder
    int size = 0;                    // side the image is resized to; 0 = the checkpoint's / preset's
    std::string device = "cpu";
    nlohmann::json configOverrides = nlohmann::json::object(); // over the checkpoint's method config
};

struct InspectExportResult {
    std::vector<std::string> files;  // written, relative to out
    int size = 0;                    // the input side used
    std::int64_t gridHeight = 0, gridWidth = 0;
};

// Writes input.npy ([3,S,S], normalised as fed to the network), tokens.npy ([prefix+N, D], after
// the final norm), attn_<block>.npy ([heads, T, T], block 0 first) for every block, and with a
// checkpoint scores.npy ([K]) and <map>.npy ([K,S,S]) for each of the method's maps, plus
// inspection.json describing them. Throws wsss::Error naming the file on bad input.
InspectExportResult exportInspection(const InspectExportOptions &options);

} // namespace wsss::training
