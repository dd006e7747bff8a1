#pragma once
// Label PNGs read and written with libpng directly: OpenCV expands palettes to colours and the
// class indices are lost. Index 255 (kIgnoreLabel) passes through untouched.
#include <array>
#include <string>

#include <opencv2/core/mat.hpp>

#include "vision/core/labels.h"

namespace wsss::vision {

// Raw class indices (CV_8UC1) of a palette PNG (any bit depth up to 8, never expanded to colour)
// or an 8-bit-or-less grayscale PNG (SegmentationClassAug). Colour PNGs, grey+alpha and 16-bit
// grey are errors; every error is a wsss::Error naming the file.
cv::Mat readLabelPng(const std::string &path);

// Writes CV_8UC1 indices as an 8-bit palette PNG with all 256 palette entries, atomically.
void writeLabelPng(const std::string &path, const cv::Mat &labels, const std::array<Rgb, 256> &palette);

} // namespace wsss::vision
