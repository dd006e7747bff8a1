#pragma once
// Class lists and colours. Index 0 is always background; kIgnoreLabel marks pixels that are
// neither trained on nor scored (VOC "void", the β band of pseudo-labels).
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace wsss::vision {

constexpr std::uint8_t kIgnoreLabel = 255;

using Rgb = std::array<std::uint8_t, 3>;

struct ClassInfo {
    std::string name;
    Rgb color{0, 0, 0};
};

// The classes of a dataset, background first.
struct LabelMap {
    std::vector<ClassInfo> classes;

    int size() const { return static_cast<int>(classes.size()); }
    int foregroundCount() const { return size() - 1; }
    // Index of a class name, or -1.
    int indexOf(const std::string &name) const;
    std::vector<std::string> names() const;
};

// The PASCAL VOC bit-interleaved palette colour of index i (0..255); 255 → (224,224,192).
Rgb vocPaletteColor(int index);
// The 256-entry palette: the given classes' colours first, VOC colours elsewhere, 255 = void.
std::array<Rgb, 256> paletteFor(const LabelMap &map);
// The 21 PASCAL VOC classes (background + 20) with their palette colours.
LabelMap vocLabelMap();

} // namespace wsss::vision
