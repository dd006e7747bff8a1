#include "training/data/fashion_mnist.h"

#include "vision/core/error.h"

#include <algorithm>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include <zlib.h>

#ifndef WSSS_FASHION_MNIST_DIR
#define WSSS_FASHION_MNIST_DIR "/usr/share/datasets/fashion-mnist"
#endif

namespace wsss::training {
namespace {

namespace fs = std::filesystem;

constexpr std::uint32_t kImagesMagic = 0x00000803; // unsigned byte, 3 dimensions
constexpr std::uint32_t kLabelsMagic = 0x00000801; // unsigned byte, 1 dimension

// The plain file if present, else its .gz (gzread reads both transparently).
std::string findIdx(const fs::path &dir, const std::string &name)
{
    std::error_code ec;
    if (fs::is_regular_file(dir / name, ec))
        return (dir / name).string();
    if (fs::is_regular_file(dir / (name + ".gz"), ec))
        return (dir / (name + ".gz")).string();
    throw Error("Fashion-MNIST: \"" + (dir / (name + ".gz")).string() + "\" not found (nor \"" + name +
                "\"); install dataset-fashion-mnist or pass the folder holding the IDX files");
}

// gzFile owner, so every error path closes it.
class GzReader {
public:
    explicit GzReader(std::string path) : m_path(std::move(path))
    {
        m_file = gzopen(m_path.c_str(), "rb");
        if (!m_file)
            throw Error("Fashion-MNIST \"" + m_path + "\": cannot open (" + std::strerror(errno) + ")");
    }
    ~GzReader() { gzclose(m_file); }
    GzReader(const GzReader &) = delete;
    GzReader &operator=(const GzReader &) = delete;

    void read(void *out, std::size_t size)
    {
        auto *p = static_cast<unsigned char *>(out);
        while (size > 0) {
            const unsigned chunk = static_cast<unsigned>(std::min<std::size_t>(size, 1u << 30));
            const int n = gzread(m_file, p, chunk);
            if (n <= 0) {
                int code = 0;
                const char *msg = gzerror(m_file, &code);
                throw Error("Fashion-MNIST \"" + m_path + "\": " +
                            (n < 0 ? std::string("corrupt gzip data (") + msg + ")" : "truncated file"));
            }
            p += n;
            size -= static_cast<std::size_t>(n);
        }
    }

    std::uint32_t readBigEndian32()
    {
        unsigned char b[4];
        read(b, 4);
        return (std::uint32_t(b[0]) << 24) | (std::uint32_t(b[1]) << 16) | (std::uint32_t(b[2]) << 8) | b[3];
    }

    const std::string &path() const { return m_path; }

private:
    std::string m_path;
    gzFile m_file = nullptr;
};

} // namespace

FashionMnist loadFashionMnist(const std::string &dir, bool train)
{
    const fs::path folder(dir.empty() ? defaultFashionMnistDir() : dir);
    const std::string prefix = train ? "train" : "t10k";
    GzReader images(findIdx(folder, prefix + "-images-idx3-ubyte"));
    GzReader labels(findIdx(folder, prefix + "-labels-idx1-ubyte"));

    FashionMnist data;
    const std::uint32_t imagesMagic = images.readBigEndian32();
    if (imagesMagic != kImagesMagic)
        throw Error("Fashion-MNIST \"" + images.path() + "\": bad magic number " + std::to_string(imagesMagic) +
                    " (expected 2051, an IDX image file)");
    const std::uint32_t imageCount = images.readBigEndian32();
    const std::uint32_t rows = images.readBigEndian32();
    const std::uint32_t cols = images.readBigEndian32();
    if (rows == 0 || cols == 0 || rows > 1024 || cols > 1024)
        throw Error("Fashion-MNIST \"" + images.path() + "\": implausible image size " + std::to_string(rows) +
                    "x" + std::to_string(cols));
    const std::uint32_t labelsMagic = labels.readBigEndian32();
    if (labelsMagic != kLabelsMagic)
        throw Error("Fashion-MNIST \"" + labels.path() + "\": bad magic number " + std::to_string(labelsMagic) +
                    " (expected 2049, an IDX label file)");
    const std::uint32_t labelCount = labels.readBigEndian32();
    if (labelCount != imageCount)
        throw Error("Fashion-MNIST \"" + labels.path() + "\": " + std::to_string(labelCount) +
                    " labels for " + std::to_string(imageCount) + " images in \"" + images.path() + "\"");
    if (imageCount == 0 || imageCount > 10'000'000)
        throw Error("Fashion-MNIST \"" + images.path() + "\": implausible image count " +
                    std::to_string(imageCount));

    data.rows = static_cast<int>(rows);
    data.cols = static_cast<int>(cols);
    data.images.resize(std::size_t(imageCount) * rows * cols);
    data.labels.resize(labelCount);
    images.read(data.images.data(), data.images.size());
    labels.read(data.labels.data(), data.labels.size());
    for (std::uint32_t i = 0; i < labelCount; ++i)
        if (data.labels[i] >= fashionMnistClassNames().size())
            throw Error("Fashion-MNIST \"" + labels.path() + "\": label " + std::to_string(data.labels[i]) +
                        " of item " + std::to_string(i) + " is outside 0..9");
    return data;
}

std::string defaultFashionMnistDir()
{
    if (const char *env = std::getenv("WSSS_FASHION_MNIST_DIR"); env && *env)
        return env;
    return WSSS_FASHION_MNIST_DIR;
}

const std::vector<std::string> &fashionMnistClassNames()
{
    static const std::vector<std::string> kNames{"tshirt", "trouser", "pullover", "dress", "coat",
                                                 "sandal", "shirt",   "sneaker",  "bag",   "ankle_boot"};
    return kNames;
}

} // namespace wsss::training
