#include "vision/core/labels.h"

namespace wsss::vision {

int LabelMap::indexOf(const std::string &name) const
{
    for (int i = 0; i < size(); ++i)
        if (classes[i].name == name)
            return i;
    return -1;
}

std::vector<std::string> LabelMap::names() const
{
    std::vector<std::string> out;
    out.reserve(classes.size());
    for (const auto &c : classes)
        out.push_back(c.name);
    return out;
}

Rgb vocPaletteColor(int index)
{
    // Bits 3j, 3j+1, 3j+2 of the index become bit 7-j of R, G, B (METHODS.md §8.6).
    Rgb rgb{0, 0, 0};
    int c = index;
    for (int j = 0; j < 8; ++j) {
        rgb[0] |= ((c >> 0) & 1) << (7 - j);
        rgb[1] |= ((c >> 1) & 1) << (7 - j);
        rgb[2] |= ((c >> 2) & 1) << (7 - j);
        c >>= 3;
    }
    return rgb;
}

std::array<Rgb, 256> paletteFor(const LabelMap &map)
{
    std::array<Rgb, 256> palette{};
    for (int i = 0; i < 256; ++i)
        palette[i] = vocPaletteColor(i);
    for (int i = 0; i < map.size() && i < 255; ++i)
        palette[i] = map.classes[i].color;
    return palette;
}

LabelMap vocLabelMap()
{
    static const char *kNames[] = {"background", "aeroplane", "bicycle", "bird", "boat",
                                   "bottle", "bus", "car", "cat", "chair", "cow",
                                   "diningtable", "dog", "horse", "motorbike", "person",
                                   "pottedplant", "sheep", "sofa", "train", "tvmonitor"};
    LabelMap map;
    for (int i = 0; i < 21; ++i)
        map.classes.push_back({kNames[i], vocPaletteColor(i)});
    return map;
}

} // namespace wsss::vision
