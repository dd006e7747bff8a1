// `wsss refine` (training/cli/refine_verb.h) end to end on files: the pseudo-mask and refined
// maps it writes, how channels map to classes, and the errors for bad input.
#include "support/tensor_compare.h"
#include "training/cli/refine_verb.h"
#include "vision/io/npy.h"
#include "vision/io/palette_png.h"

#include <QtTest/QtTest>

#include <opencv2/core.hpp>
#include <opencv2/imgcodecs.hpp>

#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>

namespace fs = std::filesystem;
using wsss::training::RefineOptions;
using wsss::training::runRefine;

namespace {

constexpr int kH = 20, kW = 24;

// Channel 0 strong on the left third, channel 1 on the right third, both weak in the middle.
std::vector<float> twoMaps(int h, int w)
{
    std::vector<float> maps(static_cast<std::size_t>(2 * h * w));
    for (int y = 0; y < h; ++y)
        for (int x = 0; x < w; ++x) {
            const float u = (x + 0.5f) / w;
            maps[static_cast<std::size_t>(y * w + x)] = u < 0.33f ? 0.9f : 0.1f;
            maps[static_cast<std::size_t>(h * w + y * w + x)] = u > 0.66f ? 0.8f : (u < 0.33f ? 0.1f : 0.5f);
        }
    return maps;
}

// A .npy with any dtype descriptor and raw payload, for the files writeNpy never makes.
void writeRawNpy(const std::string &path, const std::string &descr, const std::string &shape, const std::string &payload)
{
    std::string dict = "{'descr': '" + descr + "', 'fortran_order': False, 'shape': " + shape + ", }";
    dict.append(64 - (10 + dict.size() + 1) % 64, ' ');
    dict += '\n';
    std::ofstream out(path, std::ios::binary);
    out.write("\x93NUMPY\x01\x00", 8);
    const char len[2] = {static_cast<char>(dict.size() & 0xFF), static_cast<char>(dict.size() >> 8)};
    out.write(len, 2);
    out << dict << payload;
}

} // namespace

class TestRefineVerb : public QObject {
    Q_OBJECT

private:
    QTemporaryDir m_dir;
    std::string m_image, m_maps;

    std::string path(const std::string &name) const { return (fs::path(m_dir.path().toStdString()) / name).string(); }

    RefineOptions options(const std::string &out) const
    {
        RefineOptions o;
        o.image = m_image;
        o.maps = m_maps;
        o.out = path(out);
        o.device = "cpu";
        return o;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        fs::create_directories(path("photos"));
        m_image = path("photos/img.png");
        cv::Mat rgb(kH, kW, CV_8UC3);
        cv::randu(rgb, 0, 255);
        QVERIFY(cv::imwrite(m_image, rgb));
        m_maps = path("maps.npy");
        wsss::vision::writeNpy(m_maps, twoMaps(kH / 2, kW / 2).data(), {2, kH / 2, kW / 2}); // half resolution
    }

    void pngIsThePseudoMaskOfTheRule()
    {
        auto o = options("cat_dog.png");
        o.labels = "cat, 12"; // a name and an id
        runRefine(o);
        const cv::Mat mask = wsss::vision::readLabelPng(o.out);
        QCOMPARE(mask.rows, kH);
        QCOMPARE(mask.cols, kW);
        QCOMPARE(int(mask.at<std::uint8_t>(5, 0)), 8);       // cat, channel 0
        QCOMPARE(int(mask.at<std::uint8_t>(5, kW - 1)), 12); // dog, channel 1
        QCOMPARE(int(mask.at<std::uint8_t>(5, kW / 2)), 12); // 0.5 > 0.45
        o.band = "0.35,0.55";
        runRefine(o);
        const cv::Mat banded = wsss::vision::readLabelPng(o.out);
        QCOMPARE(int(banded.at<std::uint8_t>(5, kW / 2)), 255); // 0.5 is inside the band: ignored
        QCOMPARE(int(banded.at<std::uint8_t>(5, 0)), 8);
    }

    void float64MapsGiveTheFloat32Mask()
    {
        // NumPy's default dtype: read as float32, as every .npy reader of the project does.
        const auto maps = twoMaps(kH / 2, kW / 2);
        std::vector<double> wide(maps.begin(), maps.end());
        const std::string f64 = path("maps_f64.npy");
        writeRawNpy(f64, "<f8", "(2, " + std::to_string(kH / 2) + ", " + std::to_string(kW / 2) + ")",
                    std::string(reinterpret_cast<const char *>(wide.data()), wide.size() * sizeof(double)));
        auto narrow = options("f32.png");
        auto broad = options("f64.png");
        broad.maps = f64;
        runRefine(narrow);
        runRefine(broad);
        const cv::Mat a = wsss::vision::readLabelPng(narrow.out), b = wsss::vision::readLabelPng(broad.out);
        QCOMPARE(cv::countNonZero(a != b), 0);
    }

    void defaultChannelsAreClassesOneUp()
    {
        auto o = options("default.png");
        runRefine(o);
        const cv::Mat mask = wsss::vision::readLabelPng(o.out);
        QCOMPARE(int(mask.at<std::uint8_t>(5, 0)), 1);
        QCOMPARE(int(mask.at<std::uint8_t>(5, kW - 1)), 2);
        std::set<int> seen(mask.begin<std::uint8_t>(), mask.end<std::uint8_t>());
        QVERIFY(*seen.rbegin() <= 2); // only the two channels' classes, and background
    }

    void npyIsTheRefinedMapsAtImageSize()
    {
        const std::string flat = path("flat.npy");
        const std::vector<float> half(2 * 5 * 6, 0.5f);
        wsss::vision::writeNpy(flat, half.data(), {2, 5, 6});
        auto o = options("refined.npy");
        o.maps = flat;
        runRefine(o);
        auto plain = wsss::vision::readNpy(o.out);
        QCOMPARE(plain.shape, (std::vector<std::int64_t>{2, kH, kW}));
        QCOMPARE(plain.dtype, std::string("<f4"));
        QCOMPARE(plain.data[7], 0.5f);
        o.par = true; // a constant map grows by 1.01 per PAR iteration: 10 by default
        runRefine(o);
        const auto refined = wsss::vision::readNpy(o.out);
        QCOMPARE(refined.shape, (std::vector<std::int64_t>{2, kH, kW}));
        for (float v : refined.data)
            QVERIFY2(std::abs(v - 0.5f * std::pow(1.01f, 10.0f)) < 1e-5f, std::to_string(v).c_str());
    }

    void crfGivesDistributionsAndLabelledClassesOnly()
    {
        auto o = options("crf.npy");
        o.crf = true;
        runRefine(o);
        const auto q = wsss::vision::readNpy(o.out); // the foreground channels of the CRF's Q
        QCOMPARE(q.shape, (std::vector<std::int64_t>{2, kH, kW}));
        const std::size_t n = static_cast<std::size_t>(kH) * kW;
        for (std::size_t i = 0; i < n; ++i) {
            const float fg = q.data[i] + q.data[n + i];
            QVERIFY2(q.data[i] >= 0 && q.data[n + i] >= 0 && fg <= 1.0f + 1e-5f, std::to_string(fg).c_str());
        }
        o = options("crf.png");
        o.crf = true;
        o.labels = "cat,12";
        runRefine(o);
        const cv::Mat mask = wsss::vision::readLabelPng(o.out);
        std::set<int> seen(mask.begin<std::uint8_t>(), mask.end<std::uint8_t>());
        for (int v : seen)
            QVERIFY2(v == 0 || v == 8 || v == 12, std::to_string(v).c_str());
        QCOMPARE(int(mask.at<std::uint8_t>(5, 0)), 8); // the maps' clear winners survive the CRF
        QCOMPARE(int(mask.at<std::uint8_t>(5, kW - 1)), 12);
    }

    void namesComeFromALabelmapAboveTheImage()
    {
        {
            std::ofstream lm(path("labelmap.txt")); // one folder above photos/img.png
            lm << "# label:color_rgb:parts:actions\nbackground:0,0,0::\nroad:128,64,128::\ntree:0,128,0::\n";
        }
        auto o = options("labelmap.png");
        o.labels = "tree,road";
        runRefine(o);
        const cv::Mat mask = wsss::vision::readLabelPng(o.out);
        QCOMPARE(int(mask.at<std::uint8_t>(0, 0)), 2);      // channel 0 → tree
        QCOMPARE(int(mask.at<std::uint8_t>(0, kW - 1)), 1); // channel 1 → road
        o.labels = "cat,road";
        WSSS_VERIFY_THROWS_WITH(runRefine(o), "labelmap.txt");
        fs::remove(path("labelmap.txt"));
    }

    void badInputNamesTheFile_data()
    {
        QTest::addColumn<QString>("what");
        QTest::addColumn<QString>("message");
        QTest::newRow("truncated npy") << "truncated" << "truncated data";
        QTest::newRow("int32 npy") << "int32" << "'<i4' is not supported (expected '<f4' or '<f8')";
        QTest::newRow("NaN in maps") << "nan" << "NaN";
        QTest::newRow("2-d maps") << "flat" << "expected [C, H, W]";
        QTest::newRow("labels do not match channels") << "labels" << "2 channels, but --labels names 3 classes";
        QTest::newRow("unknown class") << "unknown" << "\"unicorn\" is not a foreground class";
        QTest::newRow("unreadable image") << "image" << "nothing.jpg";
        QTest::newRow("bad extension") << "extension" << "must be .png";
        QTest::newRow("bad band") << "band" << "--band \"0.5\"";
    }
    void badInputNamesTheFile()
    {
        QFETCH(QString, what);
        QFETCH(QString, message);
        auto o = options("bad.png");
        const std::string w = what.toStdString();
        const std::string bad = path("bad_" + w + ".npy");
        if (w == "truncated") {
            std::ifstream in(m_maps, std::ios::binary);
            std::string bytes((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
            std::ofstream(bad, std::ios::binary) << bytes.substr(0, bytes.size() - 10);
            o.maps = bad;
        } else if (w == "int32") {
            writeRawNpy(bad, "<i4", "(1, 2, 2)", std::string(16, '\0'));
            o.maps = bad;
        } else if (w == "nan") {
            std::vector<float> v(8, 0.5f);
            v[3] = std::numeric_limits<float>::quiet_NaN();
            wsss::vision::writeNpy(bad, v.data(), {2, 2, 2});
            o.maps = bad;
        } else if (w == "flat") {
            std::vector<float> v(4, 0.5f);
            wsss::vision::writeNpy(bad, v.data(), {2, 2});
            o.maps = bad;
        } else if (w == "labels") {
            o.labels = "cat,dog,bird";
        } else if (w == "unknown") {
            o.labels = "cat,unicorn";
        } else if (w == "image") {
            o.image = path("nothing.jpg");
        } else if (w == "extension") {
            o.out = path("bad.jpg");
        } else if (w == "band") {
            o.band = "0.5";
        }
        WSSS_VERIFY_THROWS_WITH(runRefine(o), message.toStdString());
        if (!o.maps.empty() && o.maps != m_maps)
            WSSS_VERIFY_THROWS_WITH(runRefine(o), o.maps);
        QVERIFY(!fs::exists(path("bad.png")));
    }
};

QTEST_APPLESS_MAIN(TestRefineVerb)
#include "test_refine_verb.moc"
