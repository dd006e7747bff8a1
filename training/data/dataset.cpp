#include "training/data/dataset.h"

#include "vision/core/error.h"
#include "vision/core/labels.h"
#include "vision/io/image_io.h"
#include "vision/io/palette_png.h"

#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include <algorithm>
#include <cmath>

namespace wsss::training {

torch::Tensor imageToTensor(const cv::Mat &rgb, const vision::Normalization &norm)
{
    cv::Mat continuous = rgb.isContinuous() ? rgb : rgb.clone();
    auto t = torch::from_blob(continuous.data, {continuous.rows, continuous.cols, 3}, torch::kUInt8)
                 .permute({2, 0, 1})
                 .to(torch::kFloat)
                 .div(255.0);
    auto mean = torch::tensor({norm.mean[0], norm.mean[1], norm.mean[2]}).view({3, 1, 1});
    auto std = torch::tensor({norm.std[0], norm.std[1], norm.std[2]}).view({3, 1, 1});
    return (t - mean) / std;
}

void Augmentation::validate() const
{
    if (!(scaleLow > 0 && scaleLow <= scaleHigh && std::isfinite(scaleHigh)))
        throw Error("augmentation: need 0 < scale low (" + std::to_string(scaleLow) + ") <= scale high (" +
                    std::to_string(scaleHigh) + ")");
}

TrainingSet::TrainingSet(const vision::VocDataset &dataset, int size, bool needMasks,
                         const std::function<void(const std::string &)> &warn, const Augmentation &augmentation)
    : m_size(size), m_augmentation(augmentation), m_numClasses(dataset.labelMap.foregroundCount()), m_masks(needMasks)
{
    m_augmentation.validate();
    for (const auto &item : dataset.items) {
        try {
            if (item.labels.empty() && !needMasks) {
                if (warn)
                    warn("image \"" + item.id + "\": no image-level label, skipped");
                continue;
            }
            cv::Mat rgb = vision::readImageRgb(item.imagePath);
            // The long side at the training size: the augmentation's scales are relative to it,
            // as the official ones are to the image at the crop size's scale.
            const double fit = static_cast<double>(size) / std::max(rgb.rows, rgb.cols);
            const cv::Size stored(std::max(1, static_cast<int>(std::lround(rgb.cols * fit))),
                                  std::max(1, static_cast<int>(std::lround(rgb.rows * fit))));
            cv::Mat mask;
            if (needMasks) {
                if (item.maskPath.empty())
                    throw Error("image \"" + item.id + "\": no ground-truth mask");
                mask = vision::readLabelPng(item.maskPath);
                if (mask.rows != rgb.rows || mask.cols != rgb.cols)
                    throw Error("mask \"" + item.maskPath + "\": size differs from its image");
                cv::resize(mask, mask, stored, 0, 0, cv::INTER_NEAREST);
            }
            cv::resize(rgb, rgb, stored, 0, 0, cv::INTER_LINEAR);
            m_images.push_back(rgb);
            m_maskImages.push_back(mask);
            m_labels.push_back(item.labels);
        } catch (const std::exception &e) {
            if (warn)
                warn(std::string(e.what()) + " (skipped)");
        }
    }
    if (m_images.empty())
        throw Error("dataset \"" + dataset.root + "\" split \"" + dataset.split + "\": no usable image");
}

namespace {

// One sample placed on a size × size canvas: black image, masks 255, valid 0 outside it.
struct Placed {
    cv::Mat rgb, mask, valid;
};

// Pads rgb (and mask) to at least size × size with the image at (top, left) of the padded
// frame, then takes the size × size window at (y0, x0) of that frame.
Placed padAndCrop(const cv::Mat &rgb, const cv::Mat &mask, int size, int top, int left, int y0, int x0)
{
    const int H = std::max(size, rgb.rows), W = std::max(size, rgb.cols);
    Placed frame{cv::Mat(H, W, CV_8UC3, cv::Scalar(0, 0, 0)), cv::Mat(), cv::Mat(H, W, CV_8UC1, cv::Scalar(0))};
    const cv::Rect at(left, top, rgb.cols, rgb.rows);
    rgb.copyTo(frame.rgb(at));
    frame.valid(at).setTo(1);
    if (!mask.empty()) {
        frame.mask = cv::Mat(H, W, CV_8UC1, cv::Scalar(vision::kIgnoreLabel));
        mask.copyTo(frame.mask(at));
    }
    const cv::Rect window(x0, y0, size, size);
    Placed out{frame.rgb(window).clone(), mask.empty() ? cv::Mat() : frame.mask(window).clone(),
               frame.valid(window).clone()};
    return out;
}

} // namespace

Batch TrainingSet::next(std::mt19937_64 &rng, int batch, const vision::Normalization &norm, bool augment)
{
    std::vector<torch::Tensor> images, labels, masks, valid;
    for (int b = 0; b < batch; ++b) {
        if (m_cursor == m_order.size()) { // new epoch: Fisher-Yates with our own uniform draws
            m_order.resize(m_images.size());
            for (std::size_t i = 0; i < m_order.size(); ++i)
                m_order[i] = i;
            for (std::size_t i = m_order.size(); i > 1; --i)
                std::swap(m_order[i - 1], m_order[static_cast<std::size_t>(uniform01(rng) * i)]);
            m_cursor = 0;
        }
        const std::size_t idx = m_order[m_cursor++];
        cv::Mat rgb = m_images[idx], mask = m_masks ? m_maskImages[idx] : cv::Mat();
        Placed placed;
        if (augment) {
            // Rescale, flip, pad and crop into new matrices: the stored images stay as loaded.
            const auto &a = m_augmentation;
            const double r = a.scaleLow + (a.scaleHigh - a.scaleLow) * uniform01(rng);
            const cv::Size scaled(std::max(1, static_cast<int>(rgb.cols * r)), std::max(1, static_cast<int>(rgb.rows * r)));
            cv::Mat scaledRgb, scaledMask;
            cv::resize(rgb, scaledRgb, scaled, 0, 0, cv::INTER_LINEAR);
            if (!mask.empty())
                cv::resize(mask, scaledMask, scaled, 0, 0, cv::INTER_NEAREST);
            if (a.flip && uniform01(rng) < 0.5) {
                cv::flip(scaledRgb, scaledRgb, 1);
                if (!scaledMask.empty())
                    cv::flip(scaledMask, scaledMask, 1);
            }
            const int H = std::max(m_size, scaled.height), W = std::max(m_size, scaled.width);
            const int top = static_cast<int>(uniform01(rng) * (H - scaled.height + 1));
            const int left = static_cast<int>(uniform01(rng) * (W - scaled.width + 1));
            const int y0 = static_cast<int>(uniform01(rng) * (H - m_size + 1));
            const int x0 = static_cast<int>(uniform01(rng) * (W - m_size + 1));
            placed = padAndCrop(scaledRgb, scaledMask, m_size, top, left, y0, x0);
        } else {
            placed = padAndCrop(rgb, mask, m_size, 0, 0, 0, 0);
        }
        images.push_back(imageToTensor(placed.rgb, norm));
        auto multiHot = torch::zeros({m_numClasses});
        for (int c : m_labels[idx])
            if (c >= 1 && c <= m_numClasses)
                multiHot[c - 1] = 1.0f;
        labels.push_back(multiHot);
        if (m_masks)
            masks.push_back(torch::from_blob(placed.mask.data, {m_size, m_size}, torch::kUInt8).to(torch::kLong));
        valid.push_back(torch::from_blob(placed.valid.data, {m_size, m_size}, torch::kUInt8).to(torch::kBool));
    }
    Batch out;
    out.images = torch::stack(images);
    out.labels = torch::stack(labels);
    if (m_masks)
        out.masks = torch::stack(masks);
    out.valid = torch::stack(valid);
    return out;
}

TrainingSet::Position TrainingSet::position() const
{
    return {std::vector<std::int64_t>(m_order.begin(), m_order.end()), static_cast<std::int64_t>(m_cursor)};
}

void TrainingSet::seek(const Position &p)
{
    const bool fits = (p.order.empty() || p.order.size() == m_images.size()) && p.cursor >= 0 &&
                      static_cast<std::size_t>(p.cursor) <= p.order.size() &&
                      std::all_of(p.order.begin(), p.order.end(),
                                  [&](std::int64_t i) { return i >= 0 && static_cast<std::size_t>(i) < m_images.size(); });
    if (!fits)
        throw Error("training set: the saved sampler position (" + std::to_string(p.order.size()) +
                    " images) does not fit this split's " + std::to_string(m_images.size()) + " usable images");
    m_order.assign(p.order.begin(), p.order.end());
    m_cursor = static_cast<std::size_t>(p.cursor);
}

} // namespace wsss::training
