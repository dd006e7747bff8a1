#pragma once
// COCO's compressed run-length encoding of a binary mask, bit for bit as pycocotools writes it
// (common/maskApi.c: rleEncode, rleToString, rleFrString), so a `wsss export --format coco` reads
// in pycocotools, detectron2 or mmdetection with no conversion. Runs go down the columns
// (column-major, as a Fortran-order array) and start with background: a mask whose first pixel
// is set starts with a run of 0.
#include <opencv2/core/mat.hpp>

#include <cstdint>
#include <string>
#include <vector>

namespace wsss::training {

// binary: CV_8UC1, nonzero = in the mask → the run lengths (sum = rows × cols).
std::vector<std::uint32_t> cocoRleCounts(const cv::Mat &binary);

// The counts as the "counts" string of a COCO "segmentation": LEB128-like, 5 bits per character
// in '0'..'o', each count after the third stored as its difference from the count two before.
std::string cocoRleString(const std::vector<std::uint32_t> &counts);

// The inverse of cocoRleString; wsss::Error naming the string on a character out of range or a
// count cut short.
std::vector<std::uint32_t> cocoRleCountsFromString(const std::string &text);

// A COCO "segmentation" {"size": [height, width], "counts": text} → CV_8UC1 mask of 0 and 1;
// wsss::Error when the runs do not cover height × width exactly.
cv::Mat decodeCocoRle(const std::string &text, int height, int width);

} // namespace wsss::training
