// training/data: Fashion-MNIST loading and the demo dataset generator (determinism, labels that
// match the masks exactly, VOC layout readable by the VOC reader).
#include <QtTest/QtTest>

#include "training/data/demo_generator.h"
#include "training/data/fashion_mnist.h"
#include "vision/core/error.h"
#include "vision/io/image_io.h"
#include "vision/io/palette_png.h"
#include "vision/io/voc_reader.h"

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include <opencv2/core.hpp>

namespace fs = std::filesystem;

namespace {

bool fashionMnistPresent()
{
    const fs::path dir(wsss::training::defaultFashionMnistDir());
    for (const char *name : {"train-images-idx3-ubyte", "train-labels-idx1-ubyte", "t10k-images-idx3-ubyte",
                             "t10k-labels-idx1-ubyte"})
        if (!fs::exists(dir / name) && !fs::exists(dir / (std::string(name) + ".gz")))
            return false;
    return true;
}

std::string readFile(const fs::path &path)
{
    std::ifstream in(path, std::ios::binary);
    return std::string((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
}

// Relative path -> content of every file under root.
std::map<std::string, std::string> snapshot(const fs::path &root)
{
    std::map<std::string, std::string> files;
    for (const auto &entry : fs::recursive_directory_iterator(root))
        if (entry.is_regular_file())
            files[fs::relative(entry.path(), root).string()] = readFile(entry.path());
    return files;
}

std::vector<std::string> lines(const fs::path &path)
{
    std::vector<std::string> out;
    std::istringstream in(readFile(path));
    std::string line;
    while (std::getline(in, line))
        if (!line.empty())
            out.push_back(line);
    return out;
}

std::vector<int> nonZeroValues(const cv::Mat &mask)
{
    std::set<int> values;
    for (auto it = mask.begin<std::uint8_t>(); it != mask.end<std::uint8_t>(); ++it)
        if (*it != 0)
            values.insert(*it);
    return {values.begin(), values.end()};
}

void generate(const fs::path &out, int train, int val, std::uint64_t seed)
{
    wsss::training::DemoDataOptions options;
    options.out = out.string();
    options.train = train;
    options.val = val;
    options.size = 64;
    options.seed = seed;
    wsss::training::generateDemoData(options);
}

} // namespace

class TestDemoGenerator : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void initTestCase();

    void fashionMnistLoads();
    void fashionMnistErrors_data();
    void fashionMnistErrors();

    void composeLabelsMatchMask_data();
    void composeLabelsMatchMask();

    void sameSeedSameBytes();
    void differentSeedDiffers();
    void smallerRunIsPrefix();
    void datasetContent_data();
    void datasetContent();
    void progressReported();

private:
    QTemporaryDir m_tmp;
    fs::path m_first; // train 6, val 3, seed 7
};

void TestDemoGenerator::initTestCase()
{
    if (!fashionMnistPresent())
        QFAIL(qPrintable(QString("Fashion-MNIST not found in %1 (install the dataset-fashion-mnist package or "
                                 "set WSSS_FASHION_MNIST_DIR)")
                             .arg(QString::fromStdString(wsss::training::defaultFashionMnistDir()))));
    QVERIFY(m_tmp.isValid());
    m_first = fs::path(m_tmp.path().toStdString()) / "first";
    generate(m_first, 6, 3, 7);
}

void TestDemoGenerator::fashionMnistLoads()
{
    const wsss::training::FashionMnist test = wsss::training::loadFashionMnist("", false);
    QCOMPARE(test.count(), 10000);
    QCOMPARE(test.rows, 28);
    QCOMPARE(test.cols, 28);
    QCOMPARE(test.images.size(), std::size_t(10000 * 28 * 28));
    std::set<int> classes(test.labels.begin(), test.labels.end());
    QCOMPARE(int(classes.size()), 10);
    QCOMPARE(*classes.rbegin(), 9);
    QCOMPARE(int(wsss::training::fashionMnistClassNames().size()), 10);
    QCOMPARE(wsss::training::fashionMnistClassNames()[9], std::string("ankle_boot"));
    QCOMPARE(wsss::training::loadFashionMnist("", true).count(), 60000);
}

void TestDemoGenerator::fashionMnistErrors_data()
{
    QTest::addColumn<QByteArray>("imagesContent"); // null = no file
    QTest::addColumn<QString>("message");
    const char badMagic[] = "\x00\x00\x08\x01 and more bytes here";
    // Magic 2051, 2 images of 28x28, then 4 bytes instead of 1568.
    const char truncated[] = "\x00\x00\x08\x03\x00\x00\x00\x02\x00\x00\x00\x1c\x00\x00\x00\x1c abc";
    QTest::newRow("missing") << QByteArray() << "not found";
    QTest::newRow("bad magic") << QByteArray(badMagic, sizeof(badMagic) - 1) << "bad magic number";
    QTest::newRow("truncated") << QByteArray(truncated, sizeof(truncated) - 1) << "truncated file";
}

void TestDemoGenerator::fashionMnistErrors()
{
    QFETCH(QByteArray, imagesContent);
    QFETCH(QString, message);
    QTemporaryDir dir;
    const fs::path images = fs::path(dir.path().toStdString()) / "t10k-images-idx3-ubyte";
    if (!imagesContent.isNull()) {
        std::ofstream(images, std::ios::binary).write(imagesContent.constData(), imagesContent.size());
        // Labels: magic 2049, count 2, two labels.
        std::ofstream(fs::path(dir.path().toStdString()) / "t10k-labels-idx1-ubyte", std::ios::binary)
            .write("\x00\x00\x08\x01\x00\x00\x00\x02\x01\x02", 10);
    }
    try {
        wsss::training::loadFashionMnist(dir.path().toStdString(), false);
        QFAIL("expected wsss::Error");
    } catch (const wsss::Error &e) {
        const std::string what = e.what();
        QVERIFY2(what.find(images.string()) != std::string::npos, e.what());
        QVERIFY2(what.find(message.toStdString()) != std::string::npos, e.what());
    }
}

void TestDemoGenerator::composeLabelsMatchMask_data()
{
    QTest::addColumn<bool>("single");
    QTest::newRow("1..3 items") << false;
    QTest::newRow("single item") << true;
}

void TestDemoGenerator::composeLabelsMatchMask()
{
    QFETCH(bool, single);
    const wsss::training::FashionMnist source = wsss::training::loadFashionMnist("", false);
    const wsss::training::DemoCompositor compositor(source, 64);
    std::set<std::size_t> itemCounts;
    for (int i = 0; i < 150; ++i) {
        std::mt19937_64 rng(1000 + i);
        int cls = -2;
        const wsss::training::Composite c =
            single ? compositor.composeSingle(rng, &cls) : compositor.compose(rng, 1 + i % 3);
        QCOMPARE(c.rgb.type(), CV_8UC3);
        QCOMPARE(c.rgb.size(), cv::Size(64, 64));
        QCOMPARE(c.mask.type(), CV_8UC1);
        QVERIFY(!c.labels.empty());
        QCOMPARE(c.labels, nonZeroValues(c.mask));
        std::set<int> objectLabels;
        for (const auto &o : c.objects) {
            objectLabels.insert(o.label);
            // The box holds visible pixels of that class on its edges.
            const cv::Mat inBox = c.mask(o.box) == o.label;
            QVERIFY(cv::countNonZero(inBox.row(0)) > 0 && cv::countNonZero(inBox.col(inBox.cols - 1)) > 0);
        }
        QCOMPARE(std::vector<int>(objectLabels.begin(), objectLabels.end()), c.labels);
        itemCounts.insert(c.objects.size());
        if (single) {
            QCOMPARE(c.objects.size(), std::size_t(1));
            QCOMPARE(cls + 1, c.labels.front());
        }
    }
    if (!single)
        QVERIFY2(itemCounts.count(3) == 1, "three-item composites should occur");
}

void TestDemoGenerator::sameSeedSameBytes()
{
    const fs::path second = fs::path(m_tmp.path().toStdString()) / "second";
    generate(second, 6, 3, 7);
    const auto a = snapshot(m_first);
    const auto b = snapshot(second);
    QCOMPARE(a.size(), std::size_t(9 * 3 + 3 + 1)); // 3 files per image, 3 lists, labelmap.txt
    QCOMPARE(a.size(), b.size());
    for (const auto &[name, bytes] : a) {
        QVERIFY2(b.count(name) == 1, name.c_str());
        QVERIFY2(b.at(name) == bytes, name.c_str());
    }
}

void TestDemoGenerator::differentSeedDiffers()
{
    const fs::path other = fs::path(m_tmp.path().toStdString()) / "other_seed";
    generate(other, 6, 3, 8);
    const auto a = snapshot(m_first);
    const auto b = snapshot(other);
    int differing = 0;
    for (const auto &[name, bytes] : a)
        if (name.rfind("JPEGImages", 0) == 0 && b.at(name) != bytes)
            ++differing;
    QCOMPARE(differing, 9);
}

void TestDemoGenerator::smallerRunIsPrefix()
{
    const fs::path small = fs::path(m_tmp.path().toStdString()) / "small";
    generate(small, 3, 2, 7);
    const auto large = snapshot(m_first);
    const auto part = snapshot(small);
    int compared = 0;
    for (const auto &[name, bytes] : part) {
        if (name.rfind("ImageSets", 0) == 0)
            continue;
        QVERIFY2(large.count(name) == 1, name.c_str());
        QVERIFY2(large.at(name) == bytes, name.c_str());
        ++compared;
    }
    QCOMPARE(compared, 5 * 3 + 1);
    QCOMPARE(lines(small / "ImageSets/Segmentation/train.txt"),
             (std::vector<std::string>{"train_000001", "train_000002", "train_000003"}));
}

void TestDemoGenerator::datasetContent_data()
{
    QTest::addColumn<QString>("split");
    QTest::addColumn<int>("count");
    QTest::newRow("train") << "train" << 6;
    QTest::newRow("val") << "val" << 3;
    QTest::newRow("trainval") << "trainval" << 9;
}

void TestDemoGenerator::datasetContent()
{
    QFETCH(QString, split);
    QFETCH(int, count);
    const std::string name = split.toStdString();
    const std::vector<std::string> ids = lines(m_first / "ImageSets/Segmentation" / (name + ".txt"));
    QCOMPARE(int(ids.size()), count);
    for (int i = 0; i < count; ++i) {
        const bool trainId = split == "train" || (split == "trainval" && i < 6);
        const int number = trainId ? i + 1 : (split == "trainval" ? i - 5 : i + 1);
        char expected[32];
        std::snprintf(expected, sizeof(expected), "%s_%06d", trainId ? "train" : "val", number);
        QCOMPARE(ids[i], std::string(expected));
    }

    const wsss::vision::VocDataset ds = wsss::vision::loadVocDataset(m_first.string(), name);
    QVERIFY2(ds.warnings.empty(), ds.warnings.empty() ? "" : ds.warnings.front().c_str());
    QCOMPARE(ds.labelMap.names(), wsss::training::demoLabelMap().names());
    QCOMPARE(ds.labelMap.size(), 11);
    QCOMPARE(int(ds.items.size()), count);
    for (const wsss::vision::DatasetItem &item : ds.items) {
        QVERIFY2(!item.labels.empty(), item.id.c_str());
        QVERIFY2(!item.maskPath.empty(), item.id.c_str());
        const cv::Mat mask = wsss::vision::readLabelPng(item.maskPath);
        QCOMPARE(mask.size(), cv::Size(64, 64));
        double lo, hi;
        cv::minMaxLoc(mask, &lo, &hi);
        QVERIFY2(hi <= 10, item.id.c_str());
        // Labels come from the XML here: they must equal the mask's classes exactly.
        QCOMPARE(item.labels, nonZeroValues(mask));
        const cv::Mat rgb = wsss::vision::readImageRgb(item.imagePath);
        QCOMPARE(rgb.size(), cv::Size(64, 64));
        const std::string xml = readFile(fs::path(m_first) / "Annotations" / (item.id + ".xml"));
        QVERIFY(xml.find("<filename>" + item.id + ".jpg</filename>") != std::string::npos);
        QVERIFY(xml.find("<width>64</width>") != std::string::npos);
        QVERIFY(xml.find("<depth>3</depth>") != std::string::npos);
    }
}

void TestDemoGenerator::progressReported()
{
    wsss::training::DemoDataOptions options;
    options.out = (fs::path(m_tmp.path().toStdString()) / "progress").string();
    options.train = 2;
    options.val = 1;
    options.size = 32;
    std::vector<std::pair<int, int>> calls;
    wsss::training::generateDemoData(options, [&](int done, int total) { calls.emplace_back(done, total); });
    QCOMPARE(calls, (std::vector<std::pair<int, int>>{{1, 3}, {2, 3}, {3, 3}}));
    options.size = 8;
    QVERIFY_THROWS_EXCEPTION(wsss::Error, wsss::training::generateDemoData(options));
}

QTEST_APPLESS_MAIN(TestDemoGenerator)
#include "test_demo_generator.moc"
