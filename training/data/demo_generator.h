#pragma once
// The demo dataset: Fashion-MNIST items tinted and pasted on textured backgrounds, written in the
// VOC layout with exact masks and XML image labels, so every method can be tried with no download.
#include <cstdint>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include <opencv2/core/mat.hpp>

#include "vision/core/labels.h"

namespace wsss::training {

struct FashionMnist;

// One pasted item that stayed visible: its class and the box of its visible pixels.
struct DemoObject {
    int label = 0; // 1..10 (Fashion-MNIST class + 1)
    cv::Rect box;  // 0-based, inclusive-exclusive, in image pixels
};

struct Composite {
    cv::Mat rgb;             // CV_8UC3, RGB
    cv::Mat mask;            // CV_8UC1: 0 = background, k = Fashion-MNIST class index + 1
    std::vector<int> labels; // sorted unique class indices 1..10: exactly the non-zero mask values
    std::vector<DemoObject> objects; // in paste order (later ones on top)
};

// Makes composites from one Fashion-MNIST split. Keeps a reference to `source`, which must
// outlive it. All randomness comes from the caller's generator, so a seed fixes the image.
class DemoCompositor {
public:
    DemoCompositor(const FashionMnist &source, int size, std::vector<cv::Mat> backgroundPhotos = {});

    // `items` (1..3) items at 35%-70% of the image side; each keeps >= 30% of its pixels visible
    // (an item that cannot be placed so after several tries is left out).
    Composite compose(std::mt19937_64 &rng, int items) const;
    // A single item at 40%-90% of the side, for backbone pretraining; *cls = its class 0..9.
    Composite composeSingle(std::mt19937_64 &rng, int *cls) const;

    int size() const { return m_size; }

private:
    Composite composeItems(std::mt19937_64 &rng, int items, double minScale, double maxScale) const;
    cv::Mat background(std::mt19937_64 &rng) const; // CV_32FC3, RGB, 0..255

    const FashionMnist *m_source;
    int m_size;
    std::vector<cv::Mat> m_photos; // CV_8UC3 RGB
};

struct DemoDataOptions {
    std::string out;             // output folder (created)
    int train = 2000;            // images in the train split (items from Fashion-MNIST train)
    int val = 500;               // images in the val split (items from Fashion-MNIST t10k)
    int size = 128;              // image side in pixels, 32..2048
    std::uint64_t seed = 0;      // fixes every image
    std::string backgrounds;     // optional folder of .jpg/.png photos cropped as backgrounds
    std::string fashionMnistDir; // empty = defaultFashionMnistDir()
};

// Writes the VOC-layout demo dataset (JPEGImages, SegmentationClass, Annotations,
// ImageSets/Segmentation/{train,val,trainval}.txt, labelmap.txt); progress(done, total) is called
// after each image. Image i of a split depends only on (seed, split, i): a smaller run is a prefix
// of a larger one. Throws wsss::Error naming the file or option at fault.
void generateDemoData(const DemoDataOptions &options, const std::function<void(int, int)> &progress = {});

// Background + the 10 Fashion-MNIST classes, with VOC palette colours 0..10.
vision::LabelMap demoLabelMap();

} // namespace wsss::training
