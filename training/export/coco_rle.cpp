#include "training/export/coco_rle.h"

#include "vision/core/error.h"

#include <algorithm>

namespace wsss::training {

namespace {

// floor(x / 32) for any sign: the arithmetic shift maskApi.c's `x >>= 5` does on a long.
std::int64_t shiftedRight5(std::int64_t x)
{
    return x >= 0 ? x >> 5 : ~((~x) >> 5);
}

std::string excerpt(const std::string &text)
{
    return "\"" + (text.size() > 40 ? text.substr(0, 40) + "…" : text) + "\"";
}

} // namespace

std::vector<std::uint32_t> cocoRleCounts(const cv::Mat &binary)
{
    CV_Assert(binary.type() == CV_8UC1);
    std::vector<std::uint32_t> counts;
    bool value = false; // the first run is background
    std::uint32_t run = 0;
    for (int x = 0; x < binary.cols; ++x)
        for (int y = 0; y < binary.rows; ++y) {
            const bool set = binary.at<std::uint8_t>(y, x) != 0;
            if (set != value) {
                counts.push_back(run);
                run = 0;
                value = set;
            }
            ++run;
        }
    counts.push_back(run);
    return counts;
}

std::string cocoRleString(const std::vector<std::uint32_t> &counts)
{
    std::string text;
    for (std::size_t i = 0; i < counts.size(); ++i) {
        std::int64_t x = counts[i];
        if (i > 2) // maskApi.c: i > 2, not i >= 2; the decoder mirrors it
            x -= counts[i - 2];
        bool more = true;
        while (more) {
            int c = static_cast<int>(x & 0x1f);
            x = shiftedRight5(x);
            more = (c & 0x10) ? x != -1 : x != 0;
            if (more)
                c |= 0x20;
            text += static_cast<char>(c + 48);
        }
    }
    return text;
}

std::vector<std::uint32_t> cocoRleCountsFromString(const std::string &text)
{
    std::vector<std::uint32_t> counts;
    std::size_t p = 0;
    while (p < text.size()) {
        std::int64_t x = 0;
        int k = 0;
        bool more = true;
        while (more) {
            if (p >= text.size())
                throw Error("COCO RLE " + excerpt(text) + ": the last count is cut short");
            const int c = static_cast<unsigned char>(text[p]) - 48;
            if (c < 0 || c > 0x3f)
                throw Error("COCO RLE " + excerpt(text) + ": character '" + std::string(1, text[p]) + "' at " +
                            std::to_string(p) + " is outside '0'..'o'");
            if (k > 7)
                throw Error("COCO RLE " + excerpt(text) + ": a count at " + std::to_string(p) + " is too long");
            x |= static_cast<std::int64_t>(c & 0x1f) << (5 * k);
            more = (c & 0x20) != 0;
            ++p;
            ++k;
            if (!more && (c & 0x10))
                x |= ~((std::int64_t{1} << (5 * k)) - 1); // a negative difference: sign extension
        }
        if (counts.size() > 2)
            x += counts[counts.size() - 2];
        if (x < 0 || x > 0xffffffffLL)
            throw Error("COCO RLE " + excerpt(text) + ": count " + std::to_string(counts.size()) + " is " +
                        std::to_string(x));
        counts.push_back(static_cast<std::uint32_t>(x));
    }
    return counts;
}

cv::Mat decodeCocoRle(const std::string &text, int height, int width)
{
    if (height < 0 || width < 0)
        throw Error("COCO RLE " + excerpt(text) + ": size [" + std::to_string(height) + ", " + std::to_string(width) +
                    "] is negative");
    const auto counts = cocoRleCountsFromString(text);
    std::uint64_t total = 0;
    for (const auto c : counts)
        total += c;
    const auto expected = static_cast<std::uint64_t>(height) * static_cast<std::uint64_t>(width);
    if (total != expected)
        throw Error("COCO RLE " + excerpt(text) + ": its runs cover " + std::to_string(total) + " pixels, size [" +
                    std::to_string(height) + ", " + std::to_string(width) + "] has " + std::to_string(expected));
    // Column-major runs: fill the transpose row by row, then transpose back.
    cv::Mat columns(width, height, CV_8UC1);
    auto *out = columns.ptr<std::uint8_t>();
    std::uint8_t value = 0;
    for (const auto c : counts) {
        std::fill(out, out + c, value);
        out += c;
        value = value ? 0 : 1;
    }
    return columns.t();
}

} // namespace wsss::training
