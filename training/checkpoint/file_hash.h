#pragma once
// The SHA-256 of a file, as `sha256sum` prints it: recorded in every manifest next to the
// checkpoint's path, so a pseudo-label dataset names the exact weights that made it even after
// the run folder has moved or been overwritten.
#include <filesystem>
#include <string>

namespace wsss::training {

// 64 lowercase hex digits; wsss::Error naming the file when it cannot be read.
std::string fileSha256(const std::filesystem::path &file);

} // namespace wsss::training
