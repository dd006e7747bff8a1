#pragma once
// TrainingSet: a VOC-layout split decoded into memory at the training size (the long side; the
// aspect ratio kept), and the batches drawn from it. Corrupt or missing files are reported
// through `warn` and skipped.
#include "training/data/portable_random.h"
#include "training/methods/method.h"
#include "vision/backbones/backbone.h"
#include "vision/io/voc_reader.h"

#include <opencv2/core/mat.hpp>

#include <functional>
#include <random>
#include <string>
#include <vector>

namespace wsss::training {

// RGB uint8 [H, W, 3] → normalised float [3, H, W].
torch::Tensor imageToTensor(const cv::Mat &rgb, const vision::Normalization &norm);

// The training augmentation of the official AFA code (datasets/transforms.py, afa.md §11.5), also
// the usual one of segmentation training: rescale by r ~ U(scaleLow, scaleHigh), flip with
// p 0.5, pad to the crop size with black at a random offset (masks 255 there, and the batch's
// `valid` false), then a random crop of the training size.
struct Augmentation {
    double scaleLow = 0.5, scaleHigh = 2.0;
    bool flip = true;

    void validate() const; // wsss::Error naming the field
};

class TrainingSet {
public:
    TrainingSet(const vision::VocDataset &dataset, int size, bool needMasks,
                const std::function<void(const std::string &)> &warn = {}, const Augmentation &augmentation = {});

    std::size_t size() const { return m_images.size(); }
    int numClasses() const { return m_numClasses; }
    // A batch of `batch` samples in a fixed shuffled order (a new permutation each epoch),
    // size × size each: augmented when augment is set, else the stored image padded at the
    // bottom and right. Batch::valid marks the real image; masks are 255 on the padding.
    Batch next(std::mt19937_64 &rng, int batch, const vision::Normalization &norm, bool augment);

    // Where the sampler is in its epoch, so a resumed run draws the same batches.
    struct Position {
        std::vector<std::int64_t> order;
        std::int64_t cursor = 0;
    };
    Position position() const;
    void seek(const Position &position); // throws wsss::Error when it does not fit this set

private:
    int m_size;
    Augmentation m_augmentation;
    int m_numClasses;
    bool m_masks;
    std::vector<cv::Mat> m_images, m_maskImages;
    std::vector<std::vector<int>> m_labels;
    std::vector<std::size_t> m_order;
    std::size_t m_cursor = 0;
};

} // namespace wsss::training
