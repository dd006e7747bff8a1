#include "training/data/dataset.h"

#include "vision/core/error.h"
#include "vision/core/labels.h"
#include "vision/io/image_io.h"
#include "vision/io/palette_png.h"

#include <opencv2/imgproc.hpp>
#include <torch/torch.h>

#include <algorithm>

namespace wsss::training {

double uniform01(std::mt19937_64 &rng)
{
    return static_cast<double>(rng() >> 11) * (1.0 / 9007199254740992.0);
}

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

TrainingSet::TrainingSet(const vision::VocDataset &dataset, int size, bool needMasks,
                         const std::function<void(const std::string &)> &warn)
    : m_size(size), m_numClasses(dataset.labelMap.foregroundCount()), m_masks(needMasks)
{
    for (const auto &item : dataset.items) {
        try {
            if (item.labels.empty() && !needMasks) {
                if (warn)
                    warn("image \"" + item.id + "\": no image-level label, skipped");
                continue;
            }
            cv::Mat rgb = vision::readImageRgb(item.imagePath);
            cv::Mat mask;
            if (needMasks) {
                if (item.maskPath.empty())
                    throw Error("image \"" + item.id + "\": no ground-truth mask");
                mask = vision::readLabelPng(item.maskPath);
                if (mask.rows != rgb.rows || mask.cols != rgb.cols)
                    throw Error("mask \"" + item.maskPath + "\": size differs from its image");
                cv::resize(mask, mask, {size, size}, 0, 0, cv::INTER_NEAREST);
            }
            cv::resize(rgb, rgb, {size, size}, 0, 0, cv::INTER_LINEAR);
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

Batch TrainingSet::next(std::mt19937_64 &rng, int batch, const vision::Normalization &norm, bool augment)
{
    std::vector<torch::Tensor> images, labels, masks;
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
        cv::Mat rgb = m_images[idx], mask = m_maskImages[idx];
        if (augment) {
            // Random scaled crop (area 50–100 %) back to the training size, then a flip. The
            // results go to new matrices: the stored images must stay as loaded.
            const double scale = std::sqrt(0.5 + 0.5 * uniform01(rng));
            const int side = std::max(8, static_cast<int>(m_size * scale));
            const int x = static_cast<int>(uniform01(rng) * (m_size - side + 1));
            const int y = static_cast<int>(uniform01(rng) * (m_size - side + 1));
            const cv::Rect roi(x, y, side, side);
            cv::Mat croppedRgb, croppedMask;
            cv::resize(m_images[idx](roi), croppedRgb, {m_size, m_size}, 0, 0, cv::INTER_LINEAR);
            rgb = croppedRgb;
            if (m_masks) {
                cv::resize(m_maskImages[idx](roi), croppedMask, {m_size, m_size}, 0, 0, cv::INTER_NEAREST);
                mask = croppedMask;
            }
            if (uniform01(rng) < 0.5) {
                cv::flip(rgb, rgb, 1);
                if (m_masks)
                    cv::flip(mask, mask, 1);
            }
        }
        images.push_back(imageToTensor(rgb, norm));
        auto multiHot = torch::zeros({m_numClasses});
        for (int c : m_labels[idx])
            if (c >= 1 && c <= m_numClasses)
                multiHot[c - 1] = 1.0f;
        labels.push_back(multiHot);
        if (m_masks) {
            cv::Mat m = mask.isContinuous() ? mask : mask.clone();
            masks.push_back(torch::from_blob(m.data, {m.rows, m.cols}, torch::kUInt8).to(torch::kLong));
        }
    }
    Batch out;
    out.images = torch::stack(images);
    out.labels = torch::stack(labels);
    if (m_masks)
        out.masks = torch::stack(masks);
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
