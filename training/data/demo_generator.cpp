#include "training/data/demo_generator.h"

#include "training/data/fashion_mnist.h"
#include "training/data/portable_random.h"
#include "vision/core/error.h"
#include "vision/io/atomic_write.h"
#include "vision/io/image_io.h"
#include "vision/io/labelmap_file.h"
#include "vision/io/palette_png.h"

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <limits>
#include <set>
#include <sstream>

#include <opencv2/imgproc.hpp>

namespace wsss::training {
namespace {

namespace fs = std::filesystem;

constexpr double kPi = 3.14159265358979323846;

std::uint64_t splitmix(std::uint64_t x)
{
    x += 0x9E3779B97F4A7C15ull;
    x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ull;
    x = (x ^ (x >> 27)) * 0x94D049BB133111EBull;
    return x ^ (x >> 31);
}

std::uint64_t imageSeed(std::uint64_t seed, std::uint64_t splitTag, std::uint64_t index)
{
    return splitmix(splitmix(splitmix(seed) ^ splitTag) ^ index);
}

using Colour = cv::Vec3f; // RGB, 0..255

Colour randomColour(std::mt19937_64 &rng)
{
    return Colour(float(uniformReal(rng, 0, 255)), float(uniformReal(rng, 0, 255)), float(uniformReal(rng, 0, 255)));
}

Colour hsvColour(double hueDegrees, double sat, double val)
{
    const double h = std::fmod(hueDegrees, 360.0) / 60.0;
    const double c = val * sat;
    const double x = c * (1.0 - std::fabs(std::fmod(h, 2.0) - 1.0));
    double r = 0, g = 0, b = 0;
    switch (static_cast<int>(h)) {
    case 0: r = c; g = x; break;
    case 1: r = x; g = c; break;
    case 2: g = c; b = x; break;
    case 3: g = x; b = c; break;
    case 4: r = x; b = c; break;
    default: r = c; b = x; break;
    }
    const double m = val - c;
    return Colour(float((r + m) * 255), float((g + m) * 255), float((b + m) * 255));
}

// A scalar field in [0, 1] -> lerp between two colours.
cv::Mat colourise(const cv::Mat &field, Colour a, Colour b)
{
    cv::Mat out(field.size(), CV_32FC3);
    for (int y = 0; y < field.rows; ++y) {
        const float *f = field.ptr<float>(y);
        auto *o = out.ptr<Colour>(y);
        for (int x = 0; x < field.cols; ++x)
            o[x] = a * (1.0f - f[x]) + b * f[x];
    }
    return out;
}

// Smooth value noise: a coarse random grid upsampled bicubically.
cv::Mat valueNoise(std::mt19937_64 &rng, int size, int grid, int channels)
{
    cv::Mat coarse(grid + 1, grid + 1, CV_32FC(channels));
    auto *p = coarse.ptr<float>();
    for (std::size_t i = 0; i < coarse.total() * channels; ++i)
        p[i] = float(uniform01(rng));
    cv::Mat fine;
    cv::resize(coarse, fine, cv::Size(size, size), 0, 0, cv::INTER_CUBIC);
    return fine;
}

cv::Mat fractalNoise(std::mt19937_64 &rng, int size)
{
    cv::Mat sum = cv::Mat::zeros(size, size, CV_32FC1);
    float amplitude = 1.0f, total = 0.0f;
    const int octaves = uniformInt(rng, 3, 5);
    int grid = uniformInt(rng, 2, 4);
    for (int o = 0; o < octaves; ++o) {
        sum += valueNoise(rng, size, grid, 1) * amplitude;
        total += amplitude;
        amplitude *= 0.5f;
        grid *= 2;
    }
    sum /= total;
    double lo, hi;
    cv::minMaxLoc(sum, &lo, &hi);
    if (hi - lo > 1e-6)
        sum = (sum - lo) / (hi - lo);
    return sum;
}

enum class BackgroundKind { ValueNoise, Fractal, Stripes, Checkerboard, Gradient, Solid, Count };

cv::Mat proceduralLayer(std::mt19937_64 &rng, int size, BackgroundKind kind)
{
    const double scale = size / 128.0;
    const Colour a = randomColour(rng);
    const Colour b = randomColour(rng);
    switch (kind) {
    case BackgroundKind::ValueNoise: {
        cv::Mat noise = valueNoise(rng, size, uniformInt(rng, 2, 6), 3) * 255.0;
        return noise;
    }
    case BackgroundKind::Fractal:
        return colourise(fractalNoise(rng, size), a, b);
    case BackgroundKind::Stripes: {
        const double angle = uniformReal(rng, 0, kPi);
        const double period = uniformReal(rng, 6, 24) * scale;
        const double phase = uniformReal(rng, 0, 2 * kPi);
        const bool hard = uniform01(rng) < 0.5;
        const double c = std::cos(angle), s = std::sin(angle);
        cv::Mat field(size, size, CV_32FC1);
        for (int y = 0; y < size; ++y)
            for (int x = 0; x < size; ++x) {
                const double v = 0.5 + 0.5 * std::sin(2 * kPi * (x * c + y * s) / period + phase);
                field.at<float>(y, x) = hard ? (v > 0.5 ? 1.0f : 0.0f) : float(v);
            }
        return colourise(field, a, b);
    }
    case BackgroundKind::Checkerboard: {
        const double cell = uniformReal(rng, 5, 20) * scale;
        const double angle = uniform01(rng) < 0.5 ? 0.0 : uniformReal(rng, 0, kPi / 2);
        const double c = std::cos(angle), s = std::sin(angle);
        cv::Mat field(size, size, CV_32FC1);
        for (int y = 0; y < size; ++y)
            for (int x = 0; x < size; ++x) {
                const auto u = static_cast<long>(std::floor((x * c + y * s) / cell));
                const auto v = static_cast<long>(std::floor((-x * s + y * c) / cell));
                field.at<float>(y, x) = ((u + v) & 1) ? 1.0f : 0.0f;
            }
        return colourise(field, a, b);
    }
    case BackgroundKind::Gradient: {
        cv::Mat field(size, size, CV_32FC1);
        if (uniform01(rng) < 0.5) {
            const double angle = uniformReal(rng, 0, 2 * kPi);
            const double c = std::cos(angle), s = std::sin(angle);
            const double span = (std::fabs(c) + std::fabs(s)) * size;
            const double offset = std::min(0.0, c * size) + std::min(0.0, s * size);
            for (int y = 0; y < size; ++y)
                for (int x = 0; x < size; ++x)
                    field.at<float>(y, x) = float((x * c + y * s - offset) / span);
        } else {
            const double cx = uniformReal(rng, 0, size), cy = uniformReal(rng, 0, size);
            const double radius = uniformReal(rng, 0.5, 1.5) * size;
            for (int y = 0; y < size; ++y)
                for (int x = 0; x < size; ++x)
                    field.at<float>(y, x) = float(std::min(1.0, std::hypot(x - cx, y - cy) / radius));
        }
        return colourise(field, a, b);
    }
    default:
        return cv::Mat(size, size, CV_32FC3, cv::Scalar(a[0], a[1], a[2]));
    }
}

// Pixels of a scaled item above this grey level belong to its mask (Fashion-MNIST's black
// surround and faint halo stay background).
constexpr float kMaskThreshold = 40.0f;
constexpr double kMinVisible = 0.3; // fraction of an item's pixels that must stay unoccluded
constexpr int kPlacementTries = 30;

struct Placement {
    int cls = 0; // 0..9
    int x0 = 0, y0 = 0, side = 0;
    cv::Mat grey; // CV_32FC1 side x side, 0..255
    int area = 0; // pixels above the threshold
    int visible = 0;
    Colour tint;
};

} // namespace

DemoCompositor::DemoCompositor(const FashionMnist &source, int size, std::vector<cv::Mat> backgroundPhotos)
    : m_source(&source), m_size(size), m_photos(std::move(backgroundPhotos))
{
    if (source.count() == 0)
        throw Error("demo compositor: the Fashion-MNIST source is empty");
    if (size < 16)
        throw Error("demo compositor: image size " + std::to_string(size) + " is too small (at least 16)");
    for (const cv::Mat &photo : m_photos)
        if (photo.empty() || photo.type() != CV_8UC3)
            throw Error("demo compositor: background photos must be non-empty 8-bit RGB images");
}

cv::Mat DemoCompositor::background(std::mt19937_64 &rng) const
{
    cv::Mat out;
    if (!m_photos.empty()) {
        const cv::Mat &photo = m_photos[uniformInt(rng, 0, int(m_photos.size()) - 1)];
        const int shortSide = std::min(photo.rows, photo.cols);
        const int crop = std::max(1, int(std::lround(uniformReal(rng, 0.35, 1.0) * shortSide)));
        const int x = uniformInt(rng, 0, photo.cols - crop);
        const int y = uniformInt(rng, 0, photo.rows - crop);
        cv::Mat resized;
        cv::resize(photo(cv::Rect(x, y, crop, crop)), resized, cv::Size(m_size, m_size), 0, 0,
                   crop > m_size ? cv::INTER_AREA : cv::INTER_LINEAR);
        if (uniform01(rng) < 0.5)
            cv::flip(resized, resized, 1);
        resized.convertTo(out, CV_32FC3);
        return out;
    }
    const int kinds = static_cast<int>(BackgroundKind::Count);
    out = proceduralLayer(rng, m_size, static_cast<BackgroundKind>(uniformInt(rng, 0, kinds - 1)));
    if (uniform01(rng) < 0.5) {
        const double w = uniformReal(rng, 0.2, 0.5);
        const cv::Mat overlay = proceduralLayer(rng, m_size, static_cast<BackgroundKind>(uniformInt(rng, 0, kinds - 1)));
        cv::addWeighted(out, 1.0 - w, overlay, w, 0.0, out);
    }
    // Fine grain, so no background is perfectly flat.
    const float grain = float(uniformReal(rng, 0.0, 12.0));
    auto *p = out.ptr<float>();
    for (std::size_t i = 0; i < out.total() * 3; ++i)
        p[i] += grain * float(2.0 * uniform01(rng) - 1.0);
    return out;
}

Composite DemoCompositor::composeItems(std::mt19937_64 &rng, int items, double minScale, double maxScale) const
{
    const int size = m_size;
    cv::Mat canvas = background(rng);
    std::vector<Placement> placed;
    cv::Mat owner(size, size, CV_32SC1, cv::Scalar(-1)); // index into `placed` of the top item

    for (int k = 0; k < items; ++k) {
        // The first item always fits; later ones may fail to leave the others visible.
        const int tries = k == 0 ? 1000 : kPlacementTries;
        for (int attempt = 0; attempt < tries; ++attempt) {
            Placement p;
            const int index = uniformInt(rng, 0, m_source->count() - 1);
            p.cls = m_source->labels[index];
            p.side = std::max(8, int(std::lround(uniformReal(rng, minScale, maxScale) * size)));
            p.side = std::min(p.side, size);
            p.x0 = uniformInt(rng, 0, size - p.side);
            p.y0 = uniformInt(rng, 0, size - p.side);
            const cv::Mat small(m_source->rows, m_source->cols, CV_8UC1,
                                const_cast<std::uint8_t *>(m_source->image(index)));
            cv::Mat smallF;
            small.convertTo(smallF, CV_32FC1);
            cv::resize(smallF, p.grey, cv::Size(p.side, p.side), 0, 0, cv::INTER_LINEAR);
            p.area = cv::countNonZero(p.grey > kMaskThreshold);
            if (p.area < 16)
                continue;
            // How much of each earlier item this one would cover.
            std::vector<int> covered(placed.size(), 0);
            for (int y = 0; y < p.side; ++y) {
                const float *g = p.grey.ptr<float>(y);
                const int *o = owner.ptr<int>(p.y0 + y) + p.x0;
                for (int x = 0; x < p.side; ++x)
                    if (g[x] > kMaskThreshold && o[x] >= 0)
                        ++covered[o[x]];
            }
            bool keepsOthersVisible = true;
            for (std::size_t j = 0; j < placed.size(); ++j)
                if (placed[j].visible - covered[j] < kMinVisible * placed[j].area)
                    keepsOthersVisible = false;
            if (!keepsOthersVisible)
                continue;

            // A saturated tint far from the background under the item, so it stands out.
            const cv::Scalar under = cv::mean(canvas(cv::Rect(p.x0, p.y0, p.side, p.side)));
            const Colour bg{float(under[0]), float(under[1]), float(under[2])};
            double bestDistance = -1;
            for (int t = 0; t < 12; ++t) {
                const Colour tint = hsvColour(uniformReal(rng, 0, 360), uniformReal(rng, 0.65, 1.0),
                                              uniformReal(rng, 0.75, 1.0));
                const double distance = cv::norm(tint - bg);
                if (distance > bestDistance) {
                    bestDistance = distance;
                    p.tint = tint;
                }
                if (distance >= 120)
                    break;
            }
            for (std::size_t j = 0; j < placed.size(); ++j)
                placed[j].visible -= covered[j];
            const int self = static_cast<int>(placed.size());
            for (int y = 0; y < p.side; ++y) {
                const float *g = p.grey.ptr<float>(y);
                int *o = owner.ptr<int>(p.y0 + y) + p.x0;
                for (int x = 0; x < p.side; ++x)
                    if (g[x] > kMaskThreshold)
                        o[x] = self;
            }
            p.visible = p.area;
            placed.push_back(std::move(p));
            break;
        }
    }

    // Paint in order, later items on top; alpha follows the item's intensity so edges blend.
    for (const Placement &p : placed) {
        for (int y = 0; y < p.side; ++y) {
            const float *g = p.grey.ptr<float>(y);
            auto *c = canvas.ptr<Colour>(p.y0 + y) + p.x0;
            for (int x = 0; x < p.side; ++x) {
                const float alpha = std::clamp((g[x] - 15.0f) / 45.0f, 0.0f, 1.0f);
                if (alpha <= 0.0f)
                    continue;
                const Colour shade = p.tint * (0.35f + 0.65f * std::min(g[x], 255.0f) / 255.0f);
                c[x] = c[x] * (1.0f - alpha) + shade * alpha;
            }
        }
    }

    Composite out;
    canvas.convertTo(out.rgb, CV_8UC3); // rounds and saturates to 0..255
    out.mask = cv::Mat::zeros(size, size, CV_8UC1);
    std::vector<cv::Rect> boxes(placed.size());
    std::vector<bool> seen(placed.size(), false);
    bool present[256] = {false};
    for (int y = 0; y < size; ++y) {
        const int *o = owner.ptr<int>(y);
        std::uint8_t *m = out.mask.ptr<std::uint8_t>(y);
        for (int x = 0; x < size; ++x) {
            if (o[x] < 0)
                continue;
            const int label = placed[o[x]].cls + 1;
            m[x] = static_cast<std::uint8_t>(label);
            present[label] = true;
            const cv::Rect pixel(x, y, 1, 1);
            boxes[o[x]] = seen[o[x]] ? (boxes[o[x]] | pixel) : pixel;
            seen[o[x]] = true;
        }
    }
    for (int v = 1; v < 256; ++v)
        if (present[v])
            out.labels.push_back(v);
    for (std::size_t j = 0; j < placed.size(); ++j)
        if (seen[j])
            out.objects.push_back({placed[j].cls + 1, boxes[j]});
    return out;
}

Composite DemoCompositor::compose(std::mt19937_64 &rng, int items) const
{
    if (items < 1 || items > 3)
        throw Error("demo compositor: " + std::to_string(items) + " items requested (1..3)");
    return composeItems(rng, items, 0.35, 0.70);
}

Composite DemoCompositor::composeSingle(std::mt19937_64 &rng, int *cls) const
{
    Composite out = composeItems(rng, 1, 0.40, 0.90);
    if (cls)
        *cls = out.labels.empty() ? -1 : out.labels.front() - 1;
    return out;
}

vision::LabelMap demoLabelMap()
{
    vision::LabelMap map;
    map.classes.push_back({"background", vision::vocPaletteColor(0)});
    const auto &names = fashionMnistClassNames();
    for (std::size_t i = 0; i < names.size(); ++i)
        map.classes.push_back({names[i], vision::vocPaletteColor(int(i) + 1)});
    return map;
}

namespace {

std::string annotationXml(const std::string &id, int size, const Composite &c, const vision::LabelMap &map)
{
    std::ostringstream xml;
    // A fixed folder name: the output must not depend on where it was written.
    xml << "<annotation>\n"
        << "\t<folder>wsss_demo</folder>\n"
        << "\t<filename>" << id << ".jpg</filename>\n"
        << "\t<source>\n\t\t<database>WSSS Studio demo (Fashion-MNIST)</database>\n\t</source>\n"
        << "\t<size>\n\t\t<width>" << size << "</width>\n\t\t<height>" << size
        << "</height>\n\t\t<depth>3</depth>\n\t</size>\n"
        << "\t<segmented>1</segmented>\n";
    for (const DemoObject &o : c.objects) {
        // VOC boxes are 1-based and inclusive.
        xml << "\t<object>\n"
            << "\t\t<name>" << map.classes[o.label].name << "</name>\n"
            << "\t\t<pose>Unspecified</pose>\n"
            << "\t\t<truncated>0</truncated>\n"
            << "\t\t<difficult>0</difficult>\n"
            << "\t\t<bndbox>\n"
            << "\t\t\t<xmin>" << o.box.x + 1 << "</xmin>\n"
            << "\t\t\t<ymin>" << o.box.y + 1 << "</ymin>\n"
            << "\t\t\t<xmax>" << o.box.x + o.box.width << "</xmax>\n"
            << "\t\t\t<ymax>" << o.box.y + o.box.height << "</ymax>\n"
            << "\t\t</bndbox>\n"
            << "\t</object>\n";
    }
    xml << "</annotation>\n";
    return xml.str();
}

std::string imageId(const std::string &split, int index)
{
    char buffer[32];
    std::snprintf(buffer, sizeof(buffer), "_%06d", index);
    return split + buffer;
}

std::vector<cv::Mat> loadBackgroundPhotos(const std::string &folder)
{
    std::error_code ec;
    if (!fs::is_directory(folder, ec))
        throw Error("demo data: backgrounds folder \"" + folder + "\" not found");
    std::vector<fs::path> files;
    for (const fs::directory_entry &entry : fs::directory_iterator(folder, ec)) {
        std::string ext = entry.path().extension().string();
        std::transform(ext.begin(), ext.end(), ext.begin(), [](unsigned char ch) { return char(std::tolower(ch)); });
        if (entry.is_regular_file(ec) && (ext == ".jpg" || ext == ".jpeg" || ext == ".png"))
            files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end()); // directory order is not deterministic
    if (files.empty())
        throw Error("demo data: backgrounds folder \"" + folder + "\" holds no .jpg or .png photos");
    std::vector<cv::Mat> photos;
    for (const fs::path &file : files) {
        cv::Mat photo = vision::readImageRgb(file.string());
        // Bound memory for large photos; crops are small anyway.
        const int longSide = std::max(photo.rows, photo.cols);
        if (longSide > 640) {
            const double f = 640.0 / longSide;
            cv::resize(photo, photo, cv::Size(), f, f, cv::INTER_AREA);
        }
        photos.push_back(photo);
    }
    return photos;
}

void writeList(const fs::path &path, const std::vector<std::string> &ids)
{
    std::string text;
    for (const std::string &id : ids)
        text += id + "\n";
    vision::atomicWriteText(path, text);
}

} // namespace

void generateDemoData(const DemoDataOptions &options, const std::function<void(int, int)> &progress)
{
    if (options.out.empty())
        throw Error("demo data: no output folder given");
    if (options.train < 0 || options.val < 0 || options.train + options.val == 0)
        throw Error("demo data: --train " + std::to_string(options.train) + " and --val " +
                    std::to_string(options.val) + " must be >= 0 and not both 0");
    if (options.train > 999999 || options.val > 999999)
        throw Error("demo data: at most 999999 images per split");
    if (options.size < 32 || options.size > 2048)
        throw Error("demo data: --size " + std::to_string(options.size) + " is outside 32..2048");

    const std::vector<cv::Mat> photos =
        options.backgrounds.empty() ? std::vector<cv::Mat>{} : loadBackgroundPhotos(options.backgrounds);
    const fs::path root(options.out);
    const vision::LabelMap map = demoLabelMap();
    const std::array<vision::Rgb, 256> palette = vision::paletteFor(map);

    std::error_code ec;
    for (const char *sub : {"JPEGImages", "SegmentationClass", "Annotations", "ImageSets/Segmentation"}) {
        fs::create_directories(root / sub, ec);
        if (ec)
            throw Error("demo data: cannot create folder \"" + (root / sub).string() + "\" (" + ec.message() + ")");
    }
    vision::writeLabelMapFile((root / "labelmap.txt").string(), map);

    struct Split {
        const char *name;
        int count;
        bool fashionTrain;
        std::uint64_t tag;
    };
    const Split splits[] = {{"train", options.train, true, 1}, {"val", options.val, false, 2}};
    const int total = options.train + options.val;
    int done = 0;
    std::vector<std::string> allIds;
    for (const Split &split : splits) {
        std::vector<std::string> ids;
        if (split.count > 0) {
            const FashionMnist source = loadFashionMnist(options.fashionMnistDir, split.fashionTrain);
            const DemoCompositor compositor(source, options.size, photos);
            for (int i = 1; i <= split.count; ++i) {
                const std::string id = imageId(split.name, i);
                std::mt19937_64 rng(imageSeed(options.seed, split.tag, std::uint64_t(i)));
                const Composite c = compositor.compose(rng, uniformInt(rng, 1, 3));
                vision::writeJpegRgb((root / "JPEGImages" / (id + ".jpg")).string(), c.rgb, 95);
                vision::writeLabelPng((root / "SegmentationClass" / (id + ".png")).string(), c.mask, palette);
                vision::atomicWriteText(root / "Annotations" / (id + ".xml"), annotationXml(id, options.size, c, map));
                ids.push_back(id);
                ++done;
                if (progress)
                    progress(done, total);
            }
        }
        writeList(root / "ImageSets" / "Segmentation" / (std::string(split.name) + ".txt"), ids);
        allIds.insert(allIds.end(), ids.begin(), ids.end());
    }
    writeList(root / "ImageSets" / "Segmentation" / "trainval.txt", allIds);
}

} // namespace wsss::training
