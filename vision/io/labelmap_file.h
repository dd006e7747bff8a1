#pragma once
// The CVAT / VOC `labelmap.txt`: a header `# label:color_rgb:parts:actions`, then one line per
// class `name:r,g,b::`, background first.
#include <string>

#include "vision/core/labels.h"

namespace wsss::vision {

// Skips comment and blank lines. Throws wsss::Error naming the file and line on a malformed line
// (a class without a colour included) or a duplicate name.
LabelMap readLabelMapFile(const std::string &path);

// Writes the map in class order, atomically.
void writeLabelMapFile(const std::string &path, const LabelMap &map);

} // namespace wsss::vision
