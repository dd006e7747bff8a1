#pragma once
// PASCAL VOC layout reader: the item list of one split with image-level labels, without decoding
// any image (the trainer reports a corrupt JPEG when it reads it).
#include <string>
#include <vector>

#include "vision/core/labels.h"

namespace wsss::vision {

// One image of a split. Paths are absolute or relative as the root was given.
struct DatasetItem {
    std::string id;
    std::string imagePath;
    std::string maskPath;    // empty if the item has no ground-truth mask
    std::vector<int> labels; // foreground class indices 1..K present, sorted
};

struct VocDataset {
    std::string root;
    std::string split;
    LabelMap labelMap;
    std::vector<DatasetItem> items;
    std::vector<std::string> warnings; // one per skipped item or doubtful input, naming the file
};

// Reads root/ImageSets/Segmentation/<split>.txt (plain ids or PSA-style "/JPEGImages/x.jpg
// /SegmentationClassAug/x.png" lines) and root/labelmap.txt (else the 21 VOC classes). Labels come
// from Annotations/<id>.xml when present (object names that are classes; parts ignored), else from
// the mask (SegmentationClass/<id>.png, else SegmentationClassAug/<id>.png; 0 and 255 excluded).
// A bad item becomes a warning and is skipped; a missing root or split file throws wsss::Error.
VocDataset loadVocDataset(const std::string &root, const std::string &split);

// The split names found in root/ImageSets/Segmentation (file stems of *.txt), sorted.
std::vector<std::string> vocSplits(const std::string &root);

} // namespace wsss::vision
