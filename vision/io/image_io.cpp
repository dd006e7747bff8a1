#include "vision/io/image_io.h"

#include "vision/core/error.h"
#include "vision/io/atomic_write.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <vector>

#include <opencv2/imgcodecs.hpp>
#include <opencv2/imgproc.hpp>

namespace wsss::vision {
namespace {

std::string imageLabel(const std::string &path)
{
    return "image \"" + path + "\"";
}

std::vector<unsigned char> readAll(const std::string &path)
{
    std::error_code ec;
    if (!std::filesystem::exists(path, ec))
        throw Error(imageLabel(path) + ": file not found");
    if (std::filesystem::is_directory(path, ec))
        throw Error(imageLabel(path) + ": is a folder, not an image");
    std::ifstream in(path, std::ios::binary);
    if (!in)
        throw Error(imageLabel(path) + ": cannot open (" + std::strerror(errno) + ")");
    std::vector<unsigned char> bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    if (in.bad())
        throw Error(imageLabel(path) + ": read error");
    if (bytes.empty())
        throw Error(imageLabel(path) + ": empty file");
    return bytes;
}

// OpenCV decodes a truncated JPEG without error, filling the missing rows with grey; a complete
// file ends with the EOI marker FF D9, possibly followed by padding some writers add.
bool jpegHasEndMarker(const std::vector<unsigned char> &bytes)
{
    std::size_t end = bytes.size();
    while (end > 0) {
        const unsigned char c = bytes[end - 1];
        if (c == 0x00 || c == ' ' || c == '\n' || c == '\r' || c == '\t')
            --end;
        else
            break;
    }
    return end >= 4 && bytes[end - 2] == 0xFF && bytes[end - 1] == 0xD9;
}

} // namespace

cv::Mat readImageRgb(const std::string &path)
{
    const std::vector<unsigned char> bytes = readAll(path);
    const bool isJpeg = bytes.size() >= 3 && bytes[0] == 0xFF && bytes[1] == 0xD8 && bytes[2] == 0xFF;
    if (isJpeg && !jpegHasEndMarker(bytes))
        throw Error(imageLabel(path) + ": truncated JPEG (no end marker)");
    cv::Mat bgr;
    try {
        bgr = cv::imdecode(bytes, cv::IMREAD_COLOR | cv::IMREAD_IGNORE_ORIENTATION);
    } catch (const cv::Exception &e) {
        throw Error(imageLabel(path) + ": cannot decode (" + e.what() + ")");
    }
    if (bgr.empty())
        throw Error(imageLabel(path) + ": cannot decode (corrupt file or unsupported format)");
    if (bgr.type() != CV_8UC3)
        throw Error(imageLabel(path) + ": unexpected pixel type after decoding");
    cv::Mat rgb;
    cv::cvtColor(bgr, rgb, cv::COLOR_BGR2RGB);
    return rgb;
}

void writeJpegRgb(const std::string &path, const cv::Mat &rgb, int quality)
{
    if (rgb.empty() || rgb.type() != CV_8UC3)
        throw Error(imageLabel(path) + ": cannot write: expected a non-empty 8-bit RGB image");
    if (quality < 1 || quality > 100)
        throw Error(imageLabel(path) + ": JPEG quality " + std::to_string(quality) + " is outside 1..100");
    cv::Mat bgr;
    cv::cvtColor(rgb, bgr, cv::COLOR_RGB2BGR);
    std::vector<unsigned char> bytes;
    const std::vector<int> params{cv::IMWRITE_JPEG_QUALITY, quality};
    if (!cv::imencode(".jpg", bgr, bytes, params) || bytes.empty())
        throw Error(imageLabel(path) + ": JPEG encoding failed");
    atomicWriteBytes(path, bytes.data(), bytes.size());
}

} // namespace wsss::vision
