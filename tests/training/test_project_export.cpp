// Exporting a studio project (training/export/project_export.h): the VOC folder holds the
// corrected masks byte for byte (255 kept), the rule's pseudo-masks elsewhere (the very bytes
// `wsss infer` writes), no rejected image, and a manifest naming all of it with the checkpoint's
// SHA-256; COCO's RLE decodes back to the same masks and is pinned against hand-computed strings;
// a refused or failed export leaves nothing behind and an earlier export untouched.
// Data: the checked-in tests/fixtures/tiny_voc (copied) and a tiny checkpoint written here.
#include "support/dead_pid.h"
#include "support/tiny_checkpoint.h"
#include "training/checkpoint/checkpoint.h"
#include "training/checkpoint/file_hash.h"
#include "training/data/demo_generator.h"
#include "training/export/coco_rle.h"
#include "training/export/dataset_inference.h"
#include "training/export/project_export.h"
#include "training/project/studio_project.h"
#include "vision/core/error.h"
#include "vision/io/labelmap_file.h"
#include "vision/io/palette_png.h"

#include <QTemporaryDir>
#include <QtTest>

#include <nlohmann/json.hpp>
#include <opencv2/core.hpp>

#include <wsss/source_paths.h>

#include <filesystem>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>


using namespace wsss;
using namespace wsss::training;
namespace fs = std::filesystem;

namespace {

const fs::path kFixture = fs::path(WSSS_SOURCE_DIR) / "tests" / "fixtures" / "tiny_voc";
const std::vector<std::string> kTrainIds = {"train_000001", "train_000002", "train_000003",
                                            "train_000004", "train_000005", "train_000006"};
const std::string kCorrectedId = "train_000002";
const std::string kRejectedId = "train_000004";

std::string readBytes(const fs::path &path)
{
    std::ifstream in(path, std::ios::binary);
    std::stringstream bytes;
    bytes << in.rdbuf();
    return bytes.str();
}

nlohmann::json readJson(const fs::path &path)
{
    std::ifstream in(path);
    return nlohmann::json::parse(in);
}

std::vector<std::string> readLines(const fs::path &path)
{
    std::ifstream in(path);
    std::vector<std::string> lines;
    for (std::string line; std::getline(in, line);)
        lines.push_back(line);
    return lines;
}

std::set<std::string> fileNames(const fs::path &folder)
{
    std::set<std::string> names;
    for (const auto &entry : fs::directory_iterator(folder))
        names.insert(entry.path().filename().string());
    return names;
}

// The staging folders an export writes in ("<out>.partial-<pid>") and the earlier outputs it moves
// aside ("<out>.old-<pid>"): none may outlive the export.
bool leftovers(const fs::path &folder)
{
    for (const auto &entry : fs::directory_iterator(folder)) {
        const std::string name = entry.path().filename().string();
        if (name.find(".partial-") != std::string::npos || name.find(".old-") != std::string::npos)
            return true;
    }
    return false;
}

bool sameMask(const cv::Mat &a, const cv::Mat &b)
{
    return a.size() == b.size() && a.type() == b.type() && cv::countNonZero(a != b) == 0;
}

// The 256 RGB entries of a PNG's PLTE chunk.
std::vector<vision::Rgb> pngPalette(const fs::path &path)
{
    const std::string bytes = readBytes(path);
    std::size_t at = 8; // the signature
    while (at + 8 <= bytes.size()) {
        const auto *p = reinterpret_cast<const unsigned char *>(bytes.data() + at);
        const std::size_t length = (std::size_t{p[0]} << 24) | (p[1] << 16) | (p[2] << 8) | p[3];
        if (bytes.compare(at + 4, 4, "PLTE") == 0) {
            std::vector<vision::Rgb> palette;
            for (std::size_t i = 0; i + 2 < length; i += 3)
                palette.push_back({p[8 + i], p[9 + i], p[10 + i]});
            return palette;
        }
        at += 12 + length;
    }
    return {};
}

// A hand-corrected mask at the fixture's 64×64: class 3 on the left, background on the right, an
// ignored block and one pixel of the last class.
cv::Mat correctedMask()
{
    cv::Mat mask(64, 64, CV_8UC1, cv::Scalar(0));
    mask(cv::Rect(0, 0, 30, 64)).setTo(3);
    mask(cv::Rect(40, 10, 12, 9)).setTo(vision::kIgnoreLabel);
    mask.at<std::uint8_t>(60, 62) = 10;
    return mask;
}

} // namespace

class TestProjectExport : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    fs::path m_data, m_checkpoint, m_masks;
    std::unique_ptr<LoadedModel> m_model;
    const torch::Device m_device{torch::kCPU};

    fs::path root() const { return fs::path(m_dir.path().toStdString()); }

    // The tiny dataset's train split with one corrected mask, one accepted and one rejected image,
    // under a rule away from the default.
    StudioProject project() const
    {
        StudioProject p;
        p.data = m_data;
        p.split = "train";
        p.checkpoint = m_checkpoint;
        p.rule.bgThreshold = 0.3f;
        p.masks = m_masks;
        p.setReview(kCorrectedId, ReviewState::Corrected);
        p.setReview("train_000001", ReviewState::Accepted);
        p.setReview(kRejectedId, ReviewState::Rejected);
        return p;
    }

    ProjectExportResult exportTo(const fs::path &out, ExportFormat format = ExportFormat::Voc, bool force = false,
                                 const StudioProject *other = nullptr)
    {
        ProjectExportOptions options;
        options.out = out;
        options.format = format;
        options.force = force;
        return exportProject(*m_model, m_device, other ? *other : project(), options, {});
    }

    // Runs `call`, which must throw wsss::Error whose message holds every one of `expected`.
    template <typename Call>
    void expectError(Call call, const std::vector<std::string> &expected)
    {
        try {
            call();
            QFAIL("the export must throw");
        } catch (const Error &e) {
            for (const auto &text : expected)
                QVERIFY2(std::string(e.what()).find(text) != std::string::npos, e.what());
        }
    }

private Q_SLOTS:
    void initTestCase()
    {
        QVERIFY(m_dir.isValid());
        m_data = root() / "voc";
        fs::copy(kFixture, m_data, fs::copy_options::recursive);
        m_checkpoint = root() / "cam.wsss";
        test::writeTinyCheckpoint(m_checkpoint.string(), 5);
        m_model = std::make_unique<LoadedModel>(loadCheckpoint(m_checkpoint.string(), m_device));
        m_masks = root() / "study.masks";
        fs::create_directories(m_masks);
        vision::writeLabelPng((m_masks / (kCorrectedId + ".png")).string(), correctedMask(),
                              vision::paletteFor(demoLabelMap()));
    }

    void checkpointSha256()
    {
        const fs::path abc = root() / "abc.txt";
        std::ofstream(abc) << "abc";
        // FIPS 180-2's first example.
        QCOMPARE(fileSha256(abc), std::string("ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"));
        const fs::path empty = root() / "empty.txt";
        std::ofstream{empty};
        QCOMPARE(fileSha256(empty), std::string("e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"));
        expectError([&] { fileSha256(root() / "absent.wsss"); }, {"absent.wsss"});
    }

    void vocExport()
    {
        const fs::path out = root() / "voc_export";
        const auto result = exportTo(out);
        QVERIFY(result.complete);
        QCOMPARE(result.out, out);
        QCOMPARE(result.total, std::int64_t{6});
        QCOMPARE(result.images, std::int64_t{5});
        QCOMPARE(result.corrected, std::vector<std::string>{kCorrectedId});
        QCOMPARE(result.rejected, std::vector<std::string>{kRejectedId});

        std::vector<std::string> exported;
        for (const auto &id : kTrainIds)
            if (id != kRejectedId)
                exported.push_back(id);
        QCOMPARE(fileNames(out), (std::set<std::string>{"ImageSets", "SegmentationClass", "labelmap.txt", "manifest.json"}));
        QCOMPARE(readLines(out / "ImageSets" / "Segmentation" / "train.txt"), exported);
        std::set<std::string> pngs;
        for (const auto &id : exported)
            pngs.insert(id + ".png");
        QCOMPARE(fileNames(out / "SegmentationClass"), pngs);

        // The corrected mask, byte for byte, its ignored pixels kept.
        const fs::path corrected = out / "SegmentationClass" / (kCorrectedId + ".png");
        QVERIFY(readBytes(corrected) == readBytes(m_masks / (kCorrectedId + ".png")));
        const cv::Mat mask = vision::readLabelPng(corrected.string());
        QVERIFY(sameMask(mask, correctedMask()));
        QCOMPARE(cv::countNonZero(mask == vision::kIgnoreLabel), 12 * 9);

        // Every other mask is what `wsss infer` writes under the project's rule and map.
        DatasetInferenceOptions infer;
        infer.checkpoint = m_checkpoint.string();
        infer.data = m_data.string();
        infer.split = "train";
        infer.out = (root() / "infer_reference").string();
        infer.rule = project().rule;
        inferDataset(*m_model, m_device, infer, {});
        for (const auto &id : exported)
            if (id != kCorrectedId)
                QVERIFY2(readBytes(out / "SegmentationClass" / (id + ".png")) ==
                             readBytes(root() / "infer_reference" / "SegmentationClass" / (id + ".png")),
                         id.c_str());
        QVERIFY(readBytes(out / "labelmap.txt") == readBytes(root() / "infer_reference" / "labelmap.txt"));
        QCOMPARE(vision::readLabelMapFile((out / "labelmap.txt").string()).names(), demoLabelMap().names());

        // Palette PNGs with the label map's colours, 255 the VOC void colour.
        const auto palette = vision::paletteFor(demoLabelMap());
        for (const auto &id : exported) {
            const auto written = pngPalette(out / "SegmentationClass" / (id + ".png"));
            QCOMPARE(written.size(), std::size_t{256});
            QVERIFY(std::equal(written.begin(), written.end(), palette.begin()));
        }
        QVERIFY(palette[255] == (vision::Rgb{224, 224, 192}));

        const auto manifest = readJson(out / "manifest.json");
        QCOMPARE(manifest["format"].get<std::string>(), std::string("voc"));
        QCOMPARE(manifest["method"].get<std::string>(), std::string("cam"));
        QCOMPARE(manifest["checkpoint"].get<std::string>(), m_checkpoint.string());
        QCOMPARE(manifest["checkpoint_sha256"].get<std::string>(), fileSha256(m_checkpoint));
        QCOMPARE(manifest["checkpoint_sha256"].get<std::string>().size(), std::size_t{64});
        QCOMPARE(manifest["rule"], project().rule.toJson());
        QCOMPARE(manifest["map"].get<std::string>(), std::string("cam"));
        QCOMPARE(manifest["corrected"], nlohmann::json::array({kCorrectedId}));
        QCOMPARE(manifest["rejected"], nlohmann::json::array({kRejectedId}));
        QCOMPARE(manifest["images"].get<int>(), 5);
        QCOMPARE(manifest["complete"].get<bool>(), true);
        QVERIFY(!leftovers(root()));
    }

    // The studio hands its loaded model in; `wsss export` loads the checkpoint itself: the same files.
    void loadingTheCheckpointGivesTheSameFiles()
    {
        exportTo(root() / "from_model");
        ProjectExportOptions options;
        options.out = root() / "from_file";
        exportProject(project(), options, "cpu");
        for (const auto &entry : fs::recursive_directory_iterator(root() / "from_model")) {
            if (!entry.is_regular_file())
                continue;
            const fs::path relative = entry.path().lexically_relative(root() / "from_model");
            QVERIFY2(readBytes(entry.path()) == readBytes(root() / "from_file" / relative), relative.c_str());
        }
    }

    // pycocotools' rleToString by hand: runs go down the columns, start with background, 5 bits
    // per character from '0', 0x20 = more to come, counts after the third as a difference from
    // the count two before.
    void cocoRlePinned()
    {
        // 5×2, column 0 all set, column 1 set in its last two rows: column-major 1 1 1 1 1 0 0 0 1 1
        // → runs 0, 5, 3, 2 → '0', '5', '3', then 2 − 5 = −3 → 29 = 'M' (0x10 set and −3 >> 5 = −1: last).
        const cv::Mat mask = (cv::Mat_<std::uint8_t>(5, 2) << 1, 0, 1, 0, 1, 0, 1, 1, 1, 1);
        QCOMPARE(cocoRleCounts(mask), (std::vector<std::uint32_t>{0, 5, 3, 2}));
        QCOMPARE(cocoRleString({0, 5, 3, 2}), std::string("053M"));
        QVERIFY(sameMask(decodeCocoRle("053M", 5, 2), mask));
        // 100 = 3·32 + 4 → 4 | 0x20 = 'T', then 3 → '3'.
        const cv::Mat zeros(10, 10, CV_8UC1, cv::Scalar(0)), ones(10, 10, CV_8UC1, cv::Scalar(1));
        QCOMPARE(cocoRleString(cocoRleCounts(zeros)), std::string("T3"));
        QCOMPARE(cocoRleString(cocoRleCounts(ones)), std::string("0T3"));
        QVERIFY(sameMask(decodeCocoRle("0T3", 10, 10), ones));
        QCOMPARE(cocoRleCountsFromString("053M"), (std::vector<std::uint32_t>{0, 5, 3, 2}));

        expectError([] { decodeCocoRle("0T", 10, 10); }, {"cut short"});
        expectError([] { decodeCocoRle("0~", 10, 10); }, {"outside"});
        expectError([] { decodeCocoRle("0T3", 5, 5); }, {"100 pixels", "has 25"});
    }

    void cocoExport()
    {
        const fs::path voc = root() / "coco_reference_voc", out = root() / "coco_export";
        exportTo(voc);
        const auto result = exportTo(out, ExportFormat::Coco);
        QCOMPARE(result.images, std::int64_t{5});
        QCOMPARE(fileNames(out), (std::set<std::string>{"annotations.json", "labelmap.txt", "manifest.json"}));
        const auto coco = readJson(out / "annotations.json");

        const auto names = demoLabelMap().names();
        QCOMPARE(coco["categories"].size(), names.size() - 1);
        for (std::size_t c = 1; c < names.size(); ++c) {
            QCOMPARE(coco["categories"][c - 1]["id"].get<std::size_t>(), c);
            QCOMPARE(coco["categories"][c - 1]["name"].get<std::string>(), names[c]);
        }

        const auto ids = readLines(voc / "ImageSets" / "Segmentation" / "train.txt");
        QCOMPARE(coco["images"].size(), ids.size());
        std::int64_t annotations = 0;
        for (std::size_t i = 0; i < ids.size(); ++i) {
            const auto &image = coco["images"][i];
            QCOMPARE(image["file_name"].get<std::string>(), "JPEGImages/" + ids[i] + ".jpg");
            QVERIFY(fs::exists(m_data / image["file_name"].get<std::string>()));
            const cv::Mat mask = vision::readLabelPng((voc / "SegmentationClass" / (ids[i] + ".png")).string());
            QCOMPARE(image["width"].get<int>(), mask.cols);
            QCOMPARE(image["height"].get<int>(), mask.rows);

            std::set<int> expectedClasses, found;
            for (int c = 1; c < 11; ++c)
                if (cv::countNonZero(mask == c) > 0)
                    expectedClasses.insert(c);
            cv::Mat covered(mask.size(), CV_8UC1, cv::Scalar(0));
            for (const auto &a : coco["annotations"]) {
                if (a["image_id"] != image["id"])
                    continue;
                ++annotations;
                const int c = a["category_id"].get<int>();
                found.insert(c);
                QCOMPARE(a["iscrowd"].get<int>(), 0);
                QCOMPARE(a["segmentation"]["size"], nlohmann::json::array({mask.rows, mask.cols}));
                const cv::Mat decoded =
                    decodeCocoRle(a["segmentation"]["counts"].get<std::string>(), mask.rows, mask.cols);
                const cv::Mat expected = (mask == c) / 255;
                QVERIFY2(sameMask(decoded, expected), (ids[i] + " class " + std::to_string(c)).c_str());
                QCOMPARE(a["area"].get<int>(), cv::countNonZero(expected));
                int x0 = mask.cols, y0 = mask.rows, x1 = -1, y1 = -1;
                for (int y = 0; y < mask.rows; ++y)
                    for (int x = 0; x < mask.cols; ++x)
                        if (expected.at<std::uint8_t>(y, x))
                            x0 = std::min(x0, x), y0 = std::min(y0, y), x1 = std::max(x1, x), y1 = std::max(y1, y);
                QCOMPARE(a["bbox"], nlohmann::json::array({x0, y0, x1 - x0 + 1, y1 - y0 + 1}));
                covered |= decoded;
            }
            QCOMPARE(found, expectedClasses);
            // Ignored pixels (the corrected mask's block) belong to no annotation.
            QCOMPARE(cv::countNonZero(covered & (mask == vision::kIgnoreLabel)), 0);
        }
        QCOMPARE(static_cast<std::int64_t>(coco["annotations"].size()), annotations);
        QCOMPARE(result.annotations, annotations);

        const auto manifest = readJson(out / "manifest.json");
        QCOMPARE(manifest["format"].get<std::string>(), std::string("coco"));
        QCOMPARE(manifest["annotations"].get<std::int64_t>(), annotations);
        QCOMPARE(manifest["image_root"].get<std::string>(), m_data.string());
        QVERIFY(manifest["ignore"].get<std::string>().find("255") != std::string::npos);
        QCOMPARE(manifest["corrected"], nlohmann::json::array({kCorrectedId}));
        QCOMPARE(manifest["rejected"], nlohmann::json::array({kRejectedId}));
        QCOMPARE(manifest["checkpoint_sha256"].get<std::string>(), fileSha256(m_checkpoint));
        QVERIFY(!leftovers(root()));
    }

    void nonEmptyOutputNeedsForce()
    {
        const fs::path out = root() / "occupied";
        fs::create_directories(out);
        std::ofstream(out / "keep.txt") << "a person's file";
        expectError([&] { exportTo(out); }, {out.string(), "not empty", "--force"});
        QCOMPARE(fileNames(out), std::set<std::string>{"keep.txt"});
        QVERIFY(!leftovers(root()));

        exportTo(out, ExportFormat::Voc, true);
        QVERIFY(!fs::exists(out / "keep.txt"));
        QVERIFY(fs::exists(out / "manifest.json"));
        QVERIFY(!leftovers(root()));

        // An empty folder is taken as it is.
        fs::create_directories(root() / "empty_out");
        exportTo(root() / "empty_out");
        QVERIFY(fs::exists(root() / "empty_out" / "manifest.json"));
    }

    void outputNeverTheProjectsOwnFolders()
    {
        // The dataset, or a folder inside it, even when new and even with force.
        expectError([&] { exportTo(m_data, ExportFormat::Voc, true); }, {"the dataset itself"});
        expectError([&] { exportTo(m_data / "exports", ExportFormat::Voc, true); }, {"inside the dataset"});
        QVERIFY(!fs::exists(m_data / "exports"));
        expectError([&] { exportTo(m_masks, ExportFormat::Voc, true); }, {"corrected masks folder"});

        // With force, never a folder that holds the dataset, the masks or the checkpoint.
        const fs::path nest = root() / "nest";
        fs::create_directories(nest / "inner");
        fs::copy(kFixture, nest / "inner" / "voc", fs::copy_options::recursive);
        fs::copy_file(m_checkpoint, nest / "cam.wsss");
        auto p = project();
        p.data = nest / "inner" / "voc";
        expectError([&] { exportTo(nest / "inner", ExportFormat::Voc, true, &p); }, {"holds the dataset", "--force"});
        expectError([&] { exportTo(nest, ExportFormat::Voc, true, &p); }, {"holds the dataset"});
        p = project();
        p.checkpoint = nest / "cam.wsss";
        expectError([&] { exportTo(nest, ExportFormat::Voc, true, &p); }, {"holds the project's checkpoint"});
        p = project();
        p.masks = nest / "inner" / "study.masks";
        fs::create_directories(p.masks);
        expectError([&] { exportTo(nest / "inner", ExportFormat::Voc, true, &p); }, {"holds the project's corrected masks"});
        QVERIFY(fs::exists(nest / "inner" / "voc" / "labelmap.txt"));
        QVERIFY(fs::exists(nest / "cam.wsss"));
        QVERIFY(!leftovers(root()) && !leftovers(nest));
    }

    void badCorrectedMaskFailsCleanly_data()
    {
        QTest::addColumn<int>("kind");
        QTest::addColumn<QString>("expected");
        QTest::newRow("other size") << 0 << "is 48×32, its image 64×64";
        QTest::newRow("unknown class") << 1 << "has class 11 at pixel (5, 7)";
        QTest::newRow("not a png") << 2 << "study_bad.masks";
    }

    void badCorrectedMaskFailsCleanly()
    {
        QFETCH(int, kind);
        QFETCH(QString, expected);
        auto p = project();
        p.masks = root() / "study_bad.masks";
        fs::remove_all(p.masks);
        fs::create_directories(p.masks);
        const fs::path bad = p.masks / "train_000005.png";
        const auto palette = vision::paletteFor(demoLabelMap());
        if (kind == 0) {
            vision::writeLabelPng(bad.string(), cv::Mat(32, 48, CV_8UC1, cv::Scalar(1)), palette);
        } else if (kind == 1) {
            cv::Mat mask(64, 64, CV_8UC1, cv::Scalar(2));
            mask.at<std::uint8_t>(7, 5) = 11;
            vision::writeLabelPng(bad.string(), mask, palette);
        } else {
            std::ofstream(bad) << "not a png";
        }

        const fs::path out = root() / "bad_export";
        expectError([&] { exportTo(out, ExportFormat::Voc, false, &p); },
                    {bad.string(), expected.toStdString(), "nothing was written"});
        QVERIFY(!fs::exists(out));
        QVERIFY(!leftovers(root()));

        // With force over an earlier export: that one stays as it was.
        const fs::path earlier = root() / "earlier_export";
        if (!fs::exists(earlier))
            exportTo(earlier);
        const std::string manifest = readBytes(earlier / "manifest.json");
        const auto files = fileNames(earlier / "SegmentationClass");
        expectError([&] { exportTo(earlier, ExportFormat::Coco, true, &p); }, {bad.string(), "unchanged"});
        QCOMPARE(readBytes(earlier / "manifest.json"), manifest);
        QCOMPARE(fileNames(earlier / "SegmentationClass"), files);
        QVERIFY(!leftovers(root()));
    }

    void readOnlyParentFailsCleanly()
    {
        const fs::path locked = root() / "locked";
        fs::create_directories(locked);
        fs::permissions(locked, fs::perms::owner_read | fs::perms::owner_exec);
        {
            // root writes through the mode bits: nothing to test then.
            std::ofstream probe(locked / "probe");
            if (probe) {
                probe.close();
                fs::remove(locked / "probe");
                fs::permissions(locked, fs::perms::owner_all);
                QSKIP("running as root (or with CAP_DAC_OVERRIDE): a read-only folder is still writable");
            }
        }
        expectError([&] { exportTo(locked / "out"); }, {(locked / "out").string(), "Permission denied"});
        const bool empty = fs::directory_iterator(locked) == fs::directory_iterator();
        fs::permissions(locked, fs::perms::owner_all);
        QVERIFY(empty);
    }

    void stopLeavesNothing()
    {
        const fs::path out = root() / "stopped";
        ProjectExportOptions options;
        options.out = out;
        DatasetInferenceCallbacks callbacks;
        int polled = 0;
        callbacks.stopRequested = [&polled] { return ++polled > 2; };
        const auto result = exportProject(*m_model, m_device, project(), options, callbacks);
        QVERIFY(!result.complete);
        QVERIFY(!fs::exists(out));
        QVERIFY(!leftovers(root()));
    }

    // An export that was killed leaves its staging folder; the next one removes it.
    void staleStagingRemoved()
    {
        const fs::path out = root() / "after_crash";
        const fs::path stale = root() / ("after_crash.partial-" + std::to_string(test::deadPid()));
        fs::create_directories(stale / "SegmentationClass");
        std::vector<std::string> warnings;
        DatasetInferenceCallbacks callbacks;
        callbacks.warning = [&warnings](const std::string &w) { warnings.push_back(w); };
        ProjectExportOptions options;
        options.out = out;
        exportProject(*m_model, m_device, project(), options, callbacks);
        QVERIFY(!fs::exists(stale));
        QVERIFY(fs::exists(out / "manifest.json"));
        QCOMPARE(warnings.size(), std::size_t{1});
        QVERIFY2(warnings[0].find(stale.string()) != std::string::npos, warnings[0].c_str());
    }

    void formatNames()
    {
        QVERIFY(exportFormatFromName("voc") == ExportFormat::Voc);
        QVERIFY(exportFormatFromName(exportFormatName(ExportFormat::Coco)) == ExportFormat::Coco);
        expectError([] { exportFormatFromName("yolo"); }, {"\"yolo\""});
    }
};

QTEST_APPLESS_MAIN(TestProjectExport)
#include "test_project_export.moc"
