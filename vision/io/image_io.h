#pragma once
// Reading and writing photos. Images inside the core are RGB (OpenCV's BGR stops at this file).
#include <string>

#include <opencv2/core/mat.hpp>

namespace wsss::vision {

// Reads a JPEG/PNG/... as CV_8UC3 in RGB order (grey images are replicated; EXIF orientation is
// ignored, as PIL and imageio do, so masks made by the Python tools line up). Throws wsss::Error
// naming the file when it is missing, unreadable, corrupt or a truncated JPEG.
cv::Mat readImageRgb(const std::string &path);

// Writes an RGB CV_8UC3 image as a JPEG, atomically (the old file survives a failed write).
void writeJpegRgb(const std::string &path, const cv::Mat &rgb, int quality = 95);

} // namespace wsss::vision
