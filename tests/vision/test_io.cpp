// vision/io: label PNGs, images, .npy, labelmap.txt, the VOC reader and atomic writes.
#include <QtTest/QtTest>

#include "vision/core/error.h"
#include "vision/core/labels.h"
#include "vision/io/atomic_write.h"
#include "vision/io/image_io.h"
#include "vision/io/labelmap_file.h"
#include "vision/io/npy.h"
#include "vision/io/palette_png.h"
#include "vision/io/voc_reader.h"

#include <csetjmp>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <initializer_list>
#include <fstream>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>
#include <png.h>

namespace fs = std::filesystem;
using wsss::vision::Rgb;

Q_DECLARE_METATYPE(std::vector<int>)
Q_DECLARE_METATYPE(std::vector<std::int64_t>)

namespace {

// Whether f throws an exception whose message holds every part; *message gets it (or why not).
template <class F>
bool throwsWith(F &&f, std::initializer_list<std::string> parts, std::string *message)
{
    try {
        f();
    } catch (const std::exception &e) {
        *message = e.what();
        for (const std::string &part : parts)
            if (message->find(part) == std::string::npos) {
                *message = "message lacks \"" + part + "\": " + *message;
                return false;
            }
        return true;
    }
    *message = "no exception thrown";
    return false;
}

#define WSSS_EXPECT_THROW_MESSAGE(expr, ...)                                                   \
    do {                                                                                \
        std::string why_;                                                               \
        QVERIFY2(throwsWith([&] { expr; }, {__VA_ARGS__}, &why_), why_.c_str());      \
    } while (0)

// A v1.0 .npy file with the given header dict (padded per the spec) and raw data.
std::string npyBytes(std::string header, const std::string &data)
{
    const std::size_t padded = (10 + header.size() + 1 + 63) / 64 * 64;
    header.append(padded - 10 - header.size() - 1, ' ');
    header += '\n';
    return std::string("\x93NUMPY\x01\x00", 8) + char(header.size() & 0xFF) + char(header.size() >> 8) + header + data;
}

std::string readFile(const fs::path &path)
{
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

void writeFile(const fs::path &path, const std::string &bytes)
{
    fs::create_directories(path.parent_path());
    std::ofstream out(path, std::ios::binary);
    out << bytes;
}

std::uint32_t bigEndian32(const std::string &b, std::size_t at)
{
    return (std::uint32_t(std::uint8_t(b[at])) << 24) | (std::uint32_t(std::uint8_t(b[at + 1])) << 16) |
           (std::uint32_t(std::uint8_t(b[at + 2])) << 8) | std::uint8_t(b[at + 3]);
}

// The raw bytes of the first chunk of a type, or empty.
std::string pngChunk(const std::string &png, const char *type)
{
    std::size_t at = 8;
    while (at + 12 <= png.size()) {
        const std::uint32_t length = bigEndian32(png, at);
        if (png.compare(at + 4, 4, type) == 0)
            return png.substr(at + 8, length);
        at += 12 + length;
    }
    return {};
}

bool sameMat(const cv::Mat &a, const cv::Mat &b)
{
    return a.size() == b.size() && a.type() == b.type() && cv::countNonZero(a != b) == 0;
}

// A palette PNG of a bit depth below 8, which our writer never makes, written with libpng here.
bool writePackedPalettePng(const std::string &path, const cv::Mat &indices, int bitDepth)
{
    FILE *fp = std::fopen(path.c_str(), "wb");
    if (!fp)
        return false;
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, nullptr, nullptr, nullptr);
    png_infop info = png_create_info_struct(png);
    std::vector<std::vector<png_byte>> packed(indices.rows);
    std::vector<png_bytep> rows(indices.rows);
    const int perByte = 8 / bitDepth;
    for (int y = 0; y < indices.rows; ++y) {
        packed[y].assign((indices.cols + perByte - 1) / perByte, 0);
        for (int x = 0; x < indices.cols; ++x) {
            const int shift = 8 - bitDepth * (x % perByte + 1); // first pixel in the high bits
            packed[y][x / perByte] |= png_byte(indices.at<std::uint8_t>(y, x) << shift);
        }
        rows[y] = packed[y].data();
    }
    png_color colours[16];
    for (int i = 0; i < 16; ++i)
        colours[i] = png_color{png_byte(i * 16), png_byte(255 - i * 16), png_byte(i)};
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_write_struct(&png, &info);
        std::fclose(fp);
        return false;
    }
    png_init_io(png, fp);
    png_set_IHDR(png, info, indices.cols, indices.rows, bitDepth, PNG_COLOR_TYPE_PALETTE, PNG_INTERLACE_NONE,
                 PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    png_set_PLTE(png, info, colours, 1 << bitDepth);
    png_write_info(png, info);
    png_write_image(png, rows.data());
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    std::fclose(fp);
    return true;
}

cv::Mat noiseImage(int rows, int cols, unsigned seed)
{
    cv::Mat rgb(rows, cols, CV_8UC3);
    std::mt19937 rng(seed);
    for (auto it = rgb.begin<cv::Vec3b>(); it != rgb.end<cv::Vec3b>(); ++it)
        *it = cv::Vec3b(rng() & 0xFF, rng() & 0xFF, rng() & 0xFF);
    return rgb;
}

std::size_t fileCount(const fs::path &dir)
{
    return static_cast<std::size_t>(std::distance(fs::directory_iterator(dir), fs::directory_iterator()));
}

} // namespace

class TestIo : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void paletteRoundTrip_data();
    void paletteRoundTrip();
    void packedPalette_data();
    void packedPalette();
    void grayscaleReadsIndices();
    void rgbPngRejected();
    void labelPngErrors_data();
    void labelPngErrors();

    void jpegRoundTrip();
    void truncatedJpeg();
    void imageErrors_data();
    void imageErrors();

    void npyRoundTrip_data();
    void npyRoundTrip();
    void npyDoubleConverted();
    void npyRejects_data();
    void npyRejects();

    void labelMapRoundTrip();
    void labelMapMalformed_data();
    void labelMapMalformed();

    void vocReader_data();
    void vocReader();
    void vocReaderErrors();
    void vocPalette_data();
    void vocPalette();

    void atomicFileCommit();
    void atomicFileAbandoned();
    void atomicFileExternalWriter();
};

void TestIo::paletteRoundTrip_data()
{
    QTest::addColumn<int>("rows");
    QTest::addColumn<int>("cols");
    QTest::addColumn<bool>("roi");
    QTest::newRow("5x3") << 5 << 3 << false;
    QTest::newRow("37x61") << 37 << 61 << false;
    QTest::newRow("non-contiguous roi") << 17 << 9 << true;
}

void TestIo::paletteRoundTrip()
{
    QFETCH(int, rows);
    QFETCH(int, cols);
    QFETCH(bool, roi);
    QTemporaryDir tmp;
    QVERIFY(tmp.isValid());
    cv::Mat big(rows + 4, cols + 6, CV_8UC1);
    std::mt19937 rng(rows * 100 + cols);
    const std::uint8_t values[] = {0, 1, 7, 15, 20, 254, 255};
    for (auto it = big.begin<std::uint8_t>(); it != big.end<std::uint8_t>(); ++it)
        *it = values[rng() % 7];
    cv::Mat labels = roi ? big(cv::Rect(3, 2, cols, rows)) : big(cv::Rect(0, 0, cols, rows)).clone();
    labels.at<std::uint8_t>(0, 0) = 255;
    const std::string path = (fs::path(tmp.path().toStdString()) / "sub" / "mask.png").string();
    wsss::vision::writeLabelPng(path, labels, wsss::vision::paletteFor(wsss::vision::vocLabelMap()));

    const cv::Mat back = wsss::vision::readLabelPng(path);
    QVERIFY(sameMat(back, labels));
    QCOMPARE(int(back.at<std::uint8_t>(0, 0)), 255);

    const std::string bytes = readFile(path);
    const std::string ihdr = pngChunk(bytes, "IHDR");
    QCOMPARE(int(ihdr.size()), 13);
    QCOMPARE(int(std::uint8_t(ihdr[8])), 8); // bit depth
    QCOMPARE(int(std::uint8_t(ihdr[9])), 3); // colour type: palette
    const std::string plte = pngChunk(bytes, "PLTE");
    QCOMPARE(int(plte.size()), 256 * 3);
    QCOMPARE(int(std::uint8_t(plte[3])), 128); // index 1 = (128, 0, 0)
    QCOMPARE(int(std::uint8_t(plte[255 * 3])), 224);
    // OpenCV sees the colours, proving the palette is real.
    const cv::Mat bgr = cv::imread(path, cv::IMREAD_COLOR);
    QCOMPARE(bgr.at<cv::Vec3b>(0, 0), cv::Vec3b(192, 224, 224));
}

void TestIo::packedPalette_data()
{
    QTest::addColumn<int>("bitDepth");
    QTest::newRow("1 bit") << 1;
    QTest::newRow("2 bits") << 2;
    QTest::newRow("4 bits") << 4;
}

void TestIo::packedPalette()
{
    QFETCH(int, bitDepth);
    QTemporaryDir tmp;
    cv::Mat indices(7, 13, CV_8UC1);
    for (int y = 0; y < indices.rows; ++y)
        for (int x = 0; x < indices.cols; ++x)
            indices.at<std::uint8_t>(y, x) = std::uint8_t((x * 3 + y) % (1 << bitDepth));
    const std::string path = (tmp.path() + "/packed.png").toStdString();
    QVERIFY(writePackedPalettePng(path, indices, bitDepth));
    QVERIFY(sameMat(wsss::vision::readLabelPng(path), indices));
}

void TestIo::grayscaleReadsIndices()
{
    QTemporaryDir tmp;
    cv::Mat labels(4, 6, CV_8UC1, cv::Scalar(0));
    labels.at<std::uint8_t>(1, 2) = 3;
    labels.at<std::uint8_t>(2, 5) = 20;
    labels.at<std::uint8_t>(3, 0) = 255;
    const std::string path = (tmp.path() + "/aug.png").toStdString();
    QVERIFY(cv::imwrite(path, labels));
    QVERIFY(sameMat(wsss::vision::readLabelPng(path), labels));
}

void TestIo::rgbPngRejected()
{
    QTemporaryDir tmp;
    const std::string path = (tmp.path() + "/colour.png").toStdString();
    QVERIFY(cv::imwrite(path, cv::Mat(4, 4, CV_8UC3, cv::Scalar(0, 0, 128))));
    WSSS_EXPECT_THROW_MESSAGE(wsss::vision::readLabelPng(path), "not a palette or grayscale label PNG", path);
}

void TestIo::labelPngErrors_data()
{
    QTest::addColumn<QString>("kind");
    QTest::addColumn<QString>("message");
    QTest::newRow("missing") << "missing" << "cannot open";
    QTest::newRow("not a png") << "text" << "not a PNG file";
    QTest::newRow("truncated") << "truncated" << "corrupt";
}

void TestIo::labelPngErrors()
{
    QFETCH(QString, kind);
    QFETCH(QString, message);
    QTemporaryDir tmp;
    const std::string path = (tmp.path() + "/bad.png").toStdString();
    if (kind == "text") {
        writeFile(path, "hello, not a png at all");
    } else if (kind == "truncated") {
        const std::string good = (tmp.path() + "/good.png").toStdString();
        wsss::vision::writeLabelPng(good, noiseImage(64, 64, 3).reshape(1, 64 * 3)(cv::Rect(0, 0, 64, 64)).clone(),
                                    wsss::vision::paletteFor(wsss::vision::vocLabelMap()));
        const std::string bytes = readFile(good);
        writeFile(path, bytes.substr(0, bytes.size() / 2));
    }
    WSSS_EXPECT_THROW_MESSAGE(wsss::vision::readLabelPng(path), path, message.toStdString());
}

void TestIo::jpegRoundTrip()
{
    QTemporaryDir tmp;
    const std::string path = (tmp.path() + "/nested/red.jpg").toStdString();
    cv::Mat rgb(16, 24, CV_8UC3, cv::Scalar(230, 20, 10)); // RGB: red
    wsss::vision::writeJpegRgb(path, rgb, 95);
    const cv::Mat back = wsss::vision::readImageRgb(path);
    QCOMPARE(back.type(), CV_8UC3);
    QCOMPARE(back.rows, 16);
    QCOMPARE(back.cols, 24);
    const cv::Vec3b px = back.at<cv::Vec3b>(8, 12);
    QVERIFY2(std::abs(px[0] - 230) < 8 && px[2] < 30, "channel order must be RGB");
}

void TestIo::truncatedJpeg()
{
    QTemporaryDir tmp;
    const std::string whole = (tmp.path() + "/whole.jpg").toStdString();
    const std::string cut = (tmp.path() + "/cut.jpg").toStdString();
    const cv::Mat rgb = noiseImage(64, 64, 1);
    wsss::vision::writeJpegRgb(whole, rgb, 90);
    const cv::Mat back = wsss::vision::readImageRgb(whole);
    QCOMPARE(back.rows, 64);
    QCOMPARE(back.cols, 64);
    const std::string bytes = readFile(whole);
    writeFile(cut, bytes.substr(0, bytes.size() / 2));
    WSSS_EXPECT_THROW_MESSAGE(wsss::vision::readImageRgb(cut), "image \"" + cut + "\"", "truncated JPEG");
    // Zero padding after the end marker is harmless.
    const std::string padded = (tmp.path() + "/padded.jpg").toStdString();
    writeFile(padded, bytes + std::string(7, '\0'));
    QCOMPARE(wsss::vision::readImageRgb(padded).rows, 64);
}

void TestIo::imageErrors_data()
{
    QTest::addColumn<QString>("content"); // empty QString = file absent
    QTest::addColumn<QString>("message");
    QTest::newRow("missing") << QString() << "not found";
    QTest::newRow("empty") << "" << "empty file";
    QTest::newRow("garbage") << "this is not an image" << "cannot decode";
}

void TestIo::imageErrors()
{
    QFETCH(QString, content);
    QFETCH(QString, message);
    QTemporaryDir tmp;
    const std::string path = (tmp.path() + "/photo.jpg").toStdString();
    if (!content.isNull())
        writeFile(path, content.toStdString());
    WSSS_EXPECT_THROW_MESSAGE(wsss::vision::readImageRgb(path), "image \"" + path + "\"", message.toStdString());
}

void TestIo::npyRoundTrip_data()
{
    QTest::addColumn<std::vector<std::int64_t>>("shape");
    QTest::addColumn<QString>("shapeText");
    QTest::newRow("scalar") << std::vector<std::int64_t>{} << "()";
    QTest::newRow("1-d") << std::vector<std::int64_t>{5} << "(5,)";
    QTest::newRow("3-d") << std::vector<std::int64_t>{2, 3, 4} << "(2, 3, 4)";
    QTest::newRow("empty") << std::vector<std::int64_t>{0, 7} << "(0, 7)";
}

void TestIo::npyRoundTrip()
{
    QFETCH(std::vector<std::int64_t>, shape);
    QFETCH(QString, shapeText);
    QTemporaryDir tmp;
    std::int64_t n = 1;
    for (auto d : shape)
        n *= d;
    std::vector<float> data(static_cast<std::size_t>(n));
    for (std::size_t i = 0; i < data.size(); ++i)
        data[i] = 0.25f * float(i) - 1.5f;
    const std::string path = (tmp.path() + "/a.npy").toStdString();
    wsss::vision::writeNpy(path, data.data(), shape);

    const std::string bytes = readFile(path);
    QCOMPARE(bytes.substr(0, 6), std::string("\x93NUMPY"));
    QCOMPARE(int(bytes[6]), 1);
    QCOMPARE(int(bytes[7]), 0);
    const std::size_t headerLength = std::uint8_t(bytes[8]) | (std::size_t(std::uint8_t(bytes[9])) << 8);
    QCOMPARE((10 + headerLength) % 64, std::size_t(0));
    const std::string header = bytes.substr(10, headerLength);
    QCOMPARE(header.back(), '\n');
    QVERIFY2(header.find("'descr': '<f4'") != std::string::npos, header.c_str());
    QVERIFY2(header.find("'fortran_order': False") != std::string::npos, header.c_str());
    QVERIFY2(header.find("'shape': " + shapeText.toStdString()) != std::string::npos, header.c_str());
    QCOMPARE(bytes.size(), 10 + headerLength + data.size() * 4);

    const wsss::vision::NpyArray back = wsss::vision::readNpy(path);
    QCOMPARE(back.shape, shape);
    QCOMPARE(back.data, data);
}

void TestIo::npyDoubleConverted()
{
    QTemporaryDir tmp;
    const double values[] = {1.5, -2.25, 1e-3};
    const std::string bytes = npyBytes("{'descr': '<f8', 'fortran_order': False, 'shape': (3,), }",
                                       std::string(reinterpret_cast<const char *>(values), sizeof(values)));
    const std::string path = (tmp.path() + "/d.npy").toStdString();
    writeFile(path, bytes);
    const wsss::vision::NpyArray a = wsss::vision::readNpy(path);
    QCOMPARE(a.shape, std::vector<std::int64_t>{3});
    QCOMPARE(a.data, (std::vector<float>{1.5f, -2.25f, 1e-3f}));
}

void TestIo::npyRejects_data()
{
    QTest::addColumn<QString>("dict");
    QTest::addColumn<QString>("message");
    QTest::newRow("int32") << "{'descr': '<i4', 'fortran_order': False, 'shape': (2,), }" << "'<i4' is not supported";
    QTest::newRow("big endian") << "{'descr': '>f4', 'fortran_order': False, 'shape': (2,), }" << "not supported";
    QTest::newRow("fortran") << "{'descr': '<f4', 'fortran_order': True, 'shape': (2,), }" << "Fortran";
    QTest::newRow("short data") << "{'descr': '<f4', 'fortran_order': False, 'shape': (9,), }" << "truncated";
    QTest::newRow("bad magic") << "" << "bad magic";
}

void TestIo::npyRejects()
{
    QFETCH(QString, dict);
    QFETCH(QString, message);
    QTemporaryDir tmp;
    std::string bytes;
    if (dict.isEmpty()) {
        bytes = "PK\x03\x04 a zip, not an npy";
    } else {
        bytes = npyBytes(dict.toStdString(), std::string(8, '\0'));
    }
    const std::string path = (tmp.path() + "/x.npy").toStdString();
    writeFile(path, bytes);
    WSSS_EXPECT_THROW_MESSAGE(wsss::vision::readNpy(path), path, message.toStdString());
}

void TestIo::labelMapRoundTrip()
{
    QTemporaryDir tmp;
    const std::string path = (tmp.path() + "/labelmap.txt").toStdString();
    const wsss::vision::LabelMap voc = wsss::vision::vocLabelMap();
    wsss::vision::writeLabelMapFile(path, voc);
    const std::string text = readFile(path);
    QVERIFY(text.rfind("# label:color_rgb:parts:actions\nbackground:0,0,0::\naeroplane:128,0,0::\n", 0) == 0);
    const wsss::vision::LabelMap back = wsss::vision::readLabelMapFile(path);
    QCOMPARE(back.size(), 21);
    for (int i = 0; i < 21; ++i) {
        QCOMPARE(back.classes[i].name, voc.classes[i].name);
        QCOMPARE(back.classes[i].color, voc.classes[i].color);
    }
    // CVAT writes parts and actions, CRLF line ends and comments.
    writeFile(path, "# label:color_rgb:parts:actions\r\nbackground:0,0,0::\r\n\r\n# note\r\ncar:1,2,3:wheel:drive\r\n"
                    "cat:4,5,6::\r\n");
    const wsss::vision::LabelMap cvat = wsss::vision::readLabelMapFile(path);
    QCOMPARE(cvat.names(), (std::vector<std::string>{"background", "car", "cat"}));
    QCOMPARE(cvat.classes[1].color, (Rgb{1, 2, 3}));
    QCOMPARE(cvat.classes[2].color, (Rgb{4, 5, 6}));
}

void TestIo::labelMapMalformed_data()
{
    QTest::addColumn<QString>("badLine");
    QTest::addColumn<QString>("message");
    QTest::newRow("two components") << "cat:1,2::" << "line 3: colour";
    QTest::newRow("no colour field") << "cat" << "line 3: expected name:r,g,b::";
    QTest::newRow("out of range") << "cat:300,0,0::" << "line 3: colour";
    QTest::newRow("not a number") << "cat:a,b,c::" << "line 3: colour";
    QTest::newRow("duplicate") << "dog:1,1,1::" << "line 3: class \"dog\" appears twice";
    QTest::newRow("empty name") << ":1,1,1::" << "line 3: empty class name";
    // A stray line would otherwise become a class and shift every later class index.
    QTest::newRow("empty colour") << "garbage :::" << "line 3: class \"garbage\" has no colour";
}

void TestIo::labelMapMalformed()
{
    QFETCH(QString, badLine);
    QFETCH(QString, message);
    QTemporaryDir tmp;
    const std::string path = (tmp.path() + "/labelmap.txt").toStdString();
    writeFile(path, "background:0,0,0::\ndog:64,0,128::\n" + badLine.toStdString() + "\n");
    WSSS_EXPECT_THROW_MESSAGE(wsss::vision::readLabelMapFile(path), "labelmap \"" + path + "\"", message.toStdString());
}

void TestIo::vocReader_data()
{
    QTest::addColumn<bool>("psaLines");
    QTest::addColumn<bool>("withLabelMap");
    QTest::addColumn<std::vector<int>>("labelsA"); // from the XML: dog and person
    QTest::addColumn<int>("cat");                  // index of "cat", used in b's mask
    QTest::addColumn<int>("classCount");
    QTest::newRow("plain ids, VOC classes") << false << false << std::vector<int>{12, 15} << 8 << 21;
    QTest::newRow("PSA lines, VOC classes") << true << false << std::vector<int>{12, 15} << 8 << 21;
    QTest::newRow("plain ids, labelmap.txt") << false << true << std::vector<int>{1, 2} << 3 << 4;
}

void TestIo::vocReader()
{
    QFETCH(bool, psaLines);
    QFETCH(bool, withLabelMap);
    QFETCH(std::vector<int>, labelsA);
    QFETCH(int, cat);
    QFETCH(int, classCount);
    QTemporaryDir tmp;
    const fs::path root = fs::path(tmp.path().toStdString()) / "VOC2012";
    const auto palette = wsss::vision::paletteFor(wsss::vision::vocLabelMap());

    // a: XML (a part's <name> before the object's own one; a CVAT attribute) + mask.
    // b: no XML, labels from its mask. c: listed, JPEG missing. d: broken XML.
    for (const char *id : {"a", "b", "d"})
        wsss::vision::writeJpegRgb((root / "JPEGImages" / (std::string(id) + ".jpg")).string(), noiseImage(8, 8, 2));
    writeFile(root / "Annotations" / "a.xml",
              "<annotation>\n<folder>VOC2012</folder>\n<filename>a.jpg</filename>\n"
              "<object>\n\t<name>dog</name>\n\t<pose>Left</pose>\n\t<truncated>1</truncated>\n"
              "\t<bndbox><xmin>1</xmin><ymin>1</ymin><xmax>4</xmax><ymax>4</ymax></bndbox>\n</object>\n"
              "<object>\n\t<part><name>head</name><bndbox><xmin>1</xmin></bndbox></part>\n"
              "\t<name> person </name>\n\t<part><name>hand</name></part>\n"
              "\t<attributes><attribute><name>occluded</name></attribute></attributes>\n</object>\n"
              "<object><name>dog</name><difficult>1</difficult></object>\n</annotation>\n");
    writeFile(root / "Annotations" / "d.xml", "<annotation><object><name>dog</name>");
    cv::Mat maskA(8, 8, CV_8UC1, cv::Scalar(0));
    cv::Mat maskB(8, 8, CV_8UC1, cv::Scalar(0));
    maskB.at<std::uint8_t>(2, 2) = std::uint8_t(cat);
    maskB.at<std::uint8_t>(3, 3) = 255;
    wsss::vision::writeLabelPng((root / "SegmentationClass" / "a.png").string(), maskA, palette);
    wsss::vision::writeLabelPng((root / "SegmentationClass" / "b.png").string(), maskB, palette);
    if (withLabelMap)
        writeFile(root / "labelmap.txt",
                  "# label:color_rgb:parts:actions\nbackground:0,0,0::\ndog:1,1,1::\nperson:2,2,2::\ncat:3,3,3::\n");
    std::string list;
    for (const char *id : {"a", "b", "c", "d"})
        list += psaLines ? "/JPEGImages/" + std::string(id) + ".jpg /SegmentationClassAug/" + id + ".png\n"
                         : std::string(id) + "\n";
    writeFile(root / "ImageSets" / "Segmentation" / "train.txt", list);
    writeFile(root / "ImageSets" / "Segmentation" / "val.txt", "a\n");

    const wsss::vision::VocDataset ds = wsss::vision::loadVocDataset(root.string(), "train");
    QCOMPARE(ds.labelMap.size(), classCount);
    QCOMPARE(ds.split, std::string("train"));
    QCOMPARE(int(ds.items.size()), 2);
    QCOMPARE(ds.items[0].id, std::string("a"));
    QCOMPARE(ds.items[0].imagePath, (root / "JPEGImages" / "a.jpg").string());
    QCOMPARE(ds.items[0].maskPath, (root / "SegmentationClass" / "a.png").string());
    QCOMPARE(ds.items[0].labels, labelsA);
    QCOMPARE(ds.items[1].id, std::string("b"));
    QCOMPARE(ds.items[1].labels, std::vector<int>{cat});
    QCOMPARE(int(ds.warnings.size()), 2);
    QVERIFY2(ds.warnings[0].find((root / "JPEGImages" / "c.jpg").string()) != std::string::npos,
             ds.warnings[0].c_str());
    QVERIFY2(ds.warnings[1].find((root / "Annotations" / "d.xml").string()) != std::string::npos,
             ds.warnings[1].c_str());
    QCOMPARE(wsss::vision::vocSplits(root.string()), (std::vector<std::string>{"train", "val"}));
}

void TestIo::vocReaderErrors()
{
    QTemporaryDir tmp;
    const std::string root = tmp.path().toStdString();
    WSSS_EXPECT_THROW_MESSAGE(wsss::vision::loadVocDataset(root + "/nowhere", "train"), root + "/nowhere");
    WSSS_EXPECT_THROW_MESSAGE(wsss::vision::loadVocDataset(root, "train"), "train.txt");
    WSSS_EXPECT_THROW_MESSAGE(wsss::vision::vocSplits(root), "ImageSets/Segmentation");
}

void TestIo::vocPalette_data()
{
    QTest::addColumn<int>("index");
    QTest::addColumn<int>("r");
    QTest::addColumn<int>("g");
    QTest::addColumn<int>("b");
    QTest::newRow("0") << 0 << 0 << 0 << 0;
    QTest::newRow("1 aeroplane") << 1 << 128 << 0 << 0;
    QTest::newRow("15 person") << 15 << 192 << 128 << 128;
    QTest::newRow("20 tvmonitor") << 20 << 0 << 64 << 128;
    QTest::newRow("255 void") << 255 << 224 << 224 << 192;
}

void TestIo::vocPalette()
{
    QFETCH(int, index);
    QFETCH(int, r);
    QFETCH(int, g);
    QFETCH(int, b);
    QCOMPARE(wsss::vision::vocPaletteColor(index), (Rgb{std::uint8_t(r), std::uint8_t(g), std::uint8_t(b)}));
    QCOMPARE(wsss::vision::paletteFor(wsss::vision::vocLabelMap())[index],
             (Rgb{std::uint8_t(r), std::uint8_t(g), std::uint8_t(b)}));
}

void TestIo::atomicFileCommit()
{
    QTemporaryDir tmp;
    const fs::path target = fs::path(tmp.path().toStdString()) / "project.json";
    writeFile(target, "old");
    {
        wsss::vision::AtomicFile file(target);
        QCOMPARE(file.tempPath().parent_path(), target.parent_path());
        QVERIFY(fs::exists(file.tempPath()));
        file.write(std::string_view("new content"));
        QCOMPARE(readFile(target), std::string("old"));
        file.commit();
        QVERIFY(file.committed());
        QVERIFY(!fs::exists(file.tempPath()));
    }
    QCOMPARE(readFile(target), std::string("new content"));
    QCOMPARE(fileCount(target.parent_path()), std::size_t(1));

    // Parent folders are created.
    const fs::path deep = fs::path(tmp.path().toStdString()) / "a" / "b" / "c.txt";
    wsss::vision::atomicWriteText(deep, "deep");
    QCOMPARE(readFile(deep), std::string("deep"));
}

void TestIo::atomicFileAbandoned()
{
    QTemporaryDir tmp;
    const fs::path target = fs::path(tmp.path().toStdString()) / "checkpoint.bin";
    writeFile(target, "old");
    fs::path temp;
    {
        wsss::vision::AtomicFile file(target);
        temp = file.tempPath();
        file.write(std::string_view("half-written"));
        // No commit: as if an exception left the scope.
    }
    QVERIFY(!fs::exists(temp));
    QCOMPARE(readFile(target), std::string("old"));
    QCOMPARE(fileCount(target.parent_path()), std::size_t(1));
}

void TestIo::atomicFileExternalWriter()
{
    QTemporaryDir tmp;
    const fs::path target = fs::path(tmp.path().toStdString()) / "weights.pt";
    wsss::vision::AtomicFile file(target);
    {
        std::ofstream out(file.tempPath(), std::ios::binary | std::ios::trunc);
        out << "written by a library";
    }
    QVERIFY(!fs::exists(target));
    file.commit();
    QCOMPARE(readFile(target), std::string("written by a library"));
}

QTEST_APPLESS_MAIN(TestIo)
#include "test_io.moc"
