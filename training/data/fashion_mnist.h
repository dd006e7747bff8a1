#pragma once
// Fashion-MNIST (28x28 grey clothing items, 10 classes) read from the IDX files, gzipped or not.
// The source of the demo dataset's objects.
#include <cstdint>
#include <string>
#include <vector>

namespace wsss::training {

struct FashionMnist {
    int rows = 28;
    int cols = 28;
    std::vector<std::uint8_t> images; // count() * rows * cols, row-major, 0 = black
    std::vector<std::uint8_t> labels; // count() class indices 0..9

    int count() const { return static_cast<int>(labels.size()); }
    const std::uint8_t *image(int i) const { return images.data() + static_cast<std::size_t>(i) * rows * cols; }
};

// Reads train-images-idx3-ubyte(.gz) + train-labels-idx1-ubyte(.gz), or the t10k-* pair.
// An empty dir means defaultFashionMnistDir(). Throws wsss::Error naming the file.
FashionMnist loadFashionMnist(const std::string &dir, bool train);

// $WSSS_FASHION_MNIST_DIR if set, else the build's WSSS_FASHION_MNIST_DIR (the Debian package's
// /usr/share/datasets/fashion-mnist).
std::string defaultFashionMnistDir();

// {"tshirt", "trouser", ..., "ankle_boot"}, indexed by the Fashion-MNIST label.
const std::vector<std::string> &fashionMnistClassNames();

} // namespace wsss::training
