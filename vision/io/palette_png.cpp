#include "vision/io/palette_png.h"

#include "vision/core/error.h"
#include "vision/io/atomic_write.h"

#include <cerrno>
#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <vector>

#include <png.h>

// libpng reports errors by longjmp. The functions that call setjmp below hold only plain data
// (no objects with destructors), so jumping out of libpng skips nothing; buffers and the result
// Mat live in their callers, and errors become wsss::Error once back in ordinary C++ code.

namespace wsss::vision {
namespace {

struct PngContext {
    char message[512] = {0};
};

void onPngError(png_structp png, png_const_charp msg)
{
    auto *ctx = static_cast<PngContext *>(png_get_error_ptr(png));
    if (ctx)
        std::snprintf(ctx->message, sizeof(ctx->message), "%s", msg ? msg : "unknown libpng error");
    png_longjmp(png, 1);
}

// Warnings (e.g. a known-incorrect sRGB profile) do not change the indices; keep stderr quiet.
void onPngWarning(png_structp, png_const_charp) {}

std::string pngLabel(const std::string &path)
{
    return "label PNG \"" + path + "\"";
}

struct ReadHeader {
    png_uint_32 width = 0;
    png_uint_32 height = 0;
    int bitDepth = 0;
    int colorType = 0;
    png_size_t rowBytes = 0;
};

// Phase 1: signature, header, transforms. Returns false on a libpng error (message in ctx).
bool readPngHeader(png_structp png, png_infop info, FILE *fp, ReadHeader *header)
{
    if (setjmp(png_jmpbuf(png)))
        return false;
    png_init_io(png, fp);
    png_set_sig_bytes(png, 8);
    png_read_info(png, info);
    png_get_IHDR(png, info, &header->width, &header->height, &header->bitDepth, &header->colorType, nullptr,
                 nullptr, nullptr);
    const bool palette = header->colorType == PNG_COLOR_TYPE_PALETTE;
    const bool grey = header->colorType == PNG_COLOR_TYPE_GRAY;
    if ((palette || grey) && header->bitDepth < 8)
        png_set_packing(png); // one byte per pixel, values unscaled (not expand_gray_1_2_4_to_8)
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    header->rowBytes = png_get_rowbytes(png, info);
    return true;
}

// Phase 2: the pixels, into rows the caller allocated.
bool readPngRows(png_structp png, png_infop info, png_bytepp rows)
{
    if (setjmp(png_jmpbuf(png)))
        return false;
    png_read_image(png, rows);
    png_read_end(png, nullptr);
    return true;
}

struct WriteBuffer {
    std::vector<unsigned char> *bytes = nullptr;
    bool overflow = false;
};

void onPngWrite(png_structp png, png_bytep data, png_size_t length)
{
    auto *buffer = static_cast<WriteBuffer *>(png_get_io_ptr(png));
    try {
        buffer->bytes->insert(buffer->bytes->end(), data, data + length);
    } catch (...) {
        buffer->overflow = true;
    }
    // Outside the handler: longjmp must not leave a catch block.
    if (buffer->overflow)
        png_error(png, "out of memory while encoding");
}

void onPngFlush(png_structp) {}

bool writePngRows(png_structp png, png_infop info, WriteBuffer *buffer, png_uint_32 width, png_uint_32 height,
                  const png_color *colors, png_bytepp rows)
{
    if (setjmp(png_jmpbuf(png)))
        return false;
    png_set_write_fn(png, buffer, onPngWrite, onPngFlush);
    png_set_IHDR(png, info, width, height, 8, PNG_COLOR_TYPE_PALETTE, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_PLTE(png, info, colors, 256);
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, info);
    return true;
}

} // namespace

cv::Mat readLabelPng(const std::string &path)
{
    FILE *fp = std::fopen(path.c_str(), "rb");
    if (!fp)
        throw Error(pngLabel(path) + ": cannot open (" + std::strerror(errno) + ")");
    unsigned char signature[8] = {0};
    const std::size_t got = std::fread(signature, 1, 8, fp);
    if (got != 8 || png_sig_cmp(signature, 0, 8) != 0) {
        std::fclose(fp);
        throw Error(pngLabel(path) + ": not a PNG file");
    }
    PngContext ctx;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &ctx, onPngError, onPngWarning);
    png_infop info = png ? png_create_info_struct(png) : nullptr;
    if (!png || !info) {
        png_destroy_read_struct(png ? &png : nullptr, nullptr, nullptr);
        std::fclose(fp);
        throw Error(pngLabel(path) + ": cannot initialise libpng");
    }
    auto failWith = [&](const std::string &what) {
        png_destroy_read_struct(&png, &info, nullptr);
        std::fclose(fp);
        throw Error(pngLabel(path) + ": " + what);
    };

    ReadHeader header;
    if (!readPngHeader(png, info, fp, &header))
        failWith(std::string("corrupt PNG (") + ctx.message + ")");
    if (header.colorType != PNG_COLOR_TYPE_PALETTE && header.colorType != PNG_COLOR_TYPE_GRAY)
        failWith("not a palette or grayscale label PNG (colour type " + std::to_string(header.colorType) + ")");
    if (header.bitDepth > 8)
        failWith("16-bit grayscale is not a label PNG (expected 8-bit indices)");
    if (header.rowBytes != header.width)
        failWith("unexpected row size after unpacking");

    cv::Mat labels(static_cast<int>(header.height), static_cast<int>(header.width), CV_8UC1);
    std::vector<png_bytep> rows(header.height);
    for (png_uint_32 y = 0; y < header.height; ++y)
        rows[y] = labels.ptr<png_byte>(static_cast<int>(y));
    if (!readPngRows(png, info, rows.data()))
        failWith(std::string("corrupt or truncated PNG (") + ctx.message + ")");
    png_destroy_read_struct(&png, &info, nullptr);
    std::fclose(fp);
    return labels;
}

void writeLabelPng(const std::string &path, const cv::Mat &labels, const std::array<Rgb, 256> &palette)
{
    if (labels.empty() || labels.type() != CV_8UC1)
        throw Error(pngLabel(path) + ": cannot write: expected a non-empty CV_8UC1 index image");
    png_color colors[256];
    for (int i = 0; i < 256; ++i)
        colors[i] = png_color{palette[i][0], palette[i][1], palette[i][2]};
    std::vector<png_bytep> rows(labels.rows);
    for (int y = 0; y < labels.rows; ++y)
        rows[y] = const_cast<png_bytep>(labels.ptr<png_byte>(y));

    std::vector<unsigned char> bytes;
    bytes.reserve(static_cast<std::size_t>(labels.total()) / 4 + 1024);
    WriteBuffer buffer{&bytes, false};
    PngContext ctx;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, &ctx, onPngError, onPngWarning);
    png_infop info = png ? png_create_info_struct(png) : nullptr;
    if (!png || !info) {
        png_destroy_write_struct(png ? &png : nullptr, nullptr);
        throw Error(pngLabel(path) + ": cannot initialise libpng");
    }
    const bool ok = writePngRows(png, info, &buffer, static_cast<png_uint_32>(labels.cols),
                                 static_cast<png_uint_32>(labels.rows), colors, rows.data());
    png_destroy_write_struct(&png, &info);
    if (!ok)
        throw Error(pngLabel(path) + ": PNG encoding failed (" + ctx.message + ")");
    atomicWriteBytes(path, bytes.data(), bytes.size());
}

} // namespace wsss::vision
