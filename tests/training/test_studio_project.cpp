// StudioProject (training/project/studio_project.h): the .wsssproj file round-trips every field,
// stores its paths relative to itself (a project folder moves as a whole), still reads the first
// format, and names the file and the field of anything wrong in it.
#include "training/project/studio_project.h"
#include "vision/core/error.h"

#include <QTemporaryDir>
#include <QtTest>

#include <nlohmann/json.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

using namespace wsss;
using namespace wsss::training;
namespace fs = std::filesystem;

namespace {

void writeText(const fs::path &path, const std::string &text)
{
    fs::create_directories(path.parent_path());
    std::ofstream(path) << text;
}

nlohmann::json readJson(const fs::path &path)
{
    std::ifstream in(path);
    return nlohmann::json::parse(in);
}

// Every field away from its default, so a field the writer or reader drops shows.
StudioProject fullProject(const fs::path &root)
{
    StudioProject p;
    p.data = root / "datasets" / "voc";
    p.split = "val";
    p.checkpoint = root / "runs" / "afa" / "checkpoint.wsss";
    p.rule.background = vision::BackgroundRule::Band;
    p.rule.bgThreshold = 0.3f;
    p.rule.bandLow = 0.25f;
    p.rule.bandHigh = 0.6f;
    p.rule.parIterations = 10;
    p.rule.crf = true;
    p.mapKind = "aff";
    p.masks = root / "projects" / "corrections";
    p.setReview("2007_000032", ReviewState::Corrected);
    p.setReview("2007_000033", ReviewState::Accepted);
    p.setReview("2007_000039", ReviewState::Rejected);
    p.image = "2007_000033";
    return p;
}

void compareProjects(const StudioProject &a, const StudioProject &b)
{
    QCOMPARE(a.data, b.data);
    QCOMPARE(a.split, b.split);
    QCOMPARE(a.checkpoint, b.checkpoint);
    QVERIFY(a.rule == b.rule);
    QCOMPARE(a.mapKind, b.mapKind);
    QCOMPARE(a.masks, b.masks);
    QVERIFY(a.reviews == b.reviews);
    QCOMPARE(a.image, b.image);
}

} // namespace

class TestStudioProject : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;

    fs::path root() const { return fs::path(m_dir.path().toStdString()); }

private Q_SLOTS:
    void initTestCase() { QVERIFY(m_dir.isValid()); }

    void reviewStateNames()
    {
        for (auto state : {ReviewState::Unreviewed, ReviewState::Corrected, ReviewState::Accepted, ReviewState::Rejected})
            QVERIFY(reviewStateFromName(reviewStateName(state)) == state);
        QCOMPARE(reviewStateName(ReviewState::Rejected), std::string("rejected"));
        try {
            reviewStateFromName("maybe");
            QFAIL("an unknown state must throw");
        } catch (const Error &e) {
            QVERIFY2(std::string(e.what()).find("\"maybe\"") != std::string::npos, e.what());
        }
    }

    // Unreviewed is no entry, so the file lists only the images someone touched.
    void unreviewedErasesTheEntry()
    {
        StudioProject p;
        p.setReview("a", ReviewState::Accepted);
        QVERIFY(p.review("a") == ReviewState::Accepted);
        p.setReview("a", ReviewState::Unreviewed);
        QVERIFY(p.reviews.empty());
        QVERIFY(p.review("never") == ReviewState::Unreviewed);
    }

    void roundTrip()
    {
        const fs::path file = root() / "round" / "projects" / "study.wsssproj";
        const StudioProject written = fullProject(root() / "round");
        writeStudioProject(file, written);
        compareProjects(readStudioProject(file), written);
    }

    void pathsAreRelativeToTheFile()
    {
        const fs::path base = root() / "relative";
        const fs::path file = base / "projects" / "study.wsssproj";
        writeStudioProject(file, fullProject(base));
        const auto json = readJson(file);
        QCOMPARE(json["format"].get<int>(), StudioProject::kFormatVersion);
        QCOMPARE(json["data"].get<std::string>(), std::string("../datasets/voc"));
        QCOMPARE(json["checkpoint"].get<std::string>(), std::string("../runs/afa/checkpoint.wsss"));
        QCOMPARE(json["masks"].get<std::string>(), std::string("corrections"));
        QCOMPARE(json["reviews"]["2007_000039"].get<std::string>(), std::string("rejected"));
        QCOMPARE(json["rule"], fullProject(base).rule.toJson());
        QVERIFY(!json["reviews"].contains("2007_000034"));

        // The whole folder moves: the project finds its dataset, checkpoint and masks at the new place.
        const fs::path moved = root() / "moved";
        fs::rename(base, moved);
        compareProjects(readStudioProject(moved / "projects" / "study.wsssproj"), fullProject(moved));
    }

    // The studio's first projects: {"data", "checkpoint", "split"} only.
    void firstFormatReads()
    {
        const fs::path file = root() / "old" / "demo.wsssproj";
        writeText(file, R"({"data": "data", "checkpoint": "run_cam/checkpoint.wsss", "split": "val"})");
        const auto p = readStudioProject(file);
        QCOMPARE(p.data, (root() / "old" / "data").lexically_normal());
        QCOMPARE(p.checkpoint, (root() / "old" / "run_cam" / "checkpoint.wsss").lexically_normal());
        QCOMPARE(p.split, std::string("val"));
        QVERIFY(p.rule == vision::PseudoLabelRule{});
        QCOMPARE(p.rule.bgThreshold, vision::kDefaultBgThreshold);
        QCOMPARE(p.mapKind, std::string());
        QCOMPARE(p.masks, defaultMasksFolder(file));
        QCOMPARE(p.masks, (root() / "old" / "demo.masks").lexically_normal());
        QVERIFY(p.reviews.empty());
        QCOMPARE(p.image, std::string());
    }

    void emptyCheckpointStaysEmpty()
    {
        const fs::path file = root() / "nockpt" / "p.wsssproj";
        StudioProject p;
        p.data = root() / "nockpt" / "data";
        writeStudioProject(file, p);
        QCOMPARE(readJson(file)["checkpoint"].get<std::string>(), std::string());
        const auto back = readStudioProject(file);
        QVERIFY(back.checkpoint.empty());
        QCOMPARE(back.masks, defaultMasksFolder(file)); // none given: the default beside the file
    }

    void writeIsAtomic()
    {
        const fs::path file = root() / "atomic" / "p.wsssproj";
        writeStudioProject(file, fullProject(root() / "atomic"));
        // A second write replaces the file whole and leaves no temporary behind.
        auto p = fullProject(root() / "atomic");
        p.image = "other";
        writeStudioProject(file, p);
        QCOMPARE(readStudioProject(file).image, std::string("other"));
        int files = 0;
        for (const auto &entry : fs::directory_iterator(file.parent_path()))
            files += entry.is_regular_file() ? 1 : 0;
        QCOMPARE(files, 1);
    }

    void missingPaths()
    {
        StudioProject p;
        p.data = root() / "nowhere";
        p.checkpoint = root() / "nowhere.wsss";
        QCOMPARE(missingProjectPaths(p), (std::vector<std::string>{"data", "checkpoint"}));
        fs::create_directories(root() / "somewhere");
        p.data = root() / "somewhere";
        p.checkpoint.clear();
        QVERIFY(missingProjectPaths(p).empty());
    }

    void badFieldsNameTheField_data()
    {
        QTest::addColumn<QString>("content");
        QTest::addColumn<QString>("expected");
        QTest::newRow("not json") << R"({"data": )" << "is not valid JSON";
        QTest::newRow("not an object") << R"(["data"])" << "is not a JSON object";
        QTest::newRow("data missing") << R"({"split": "val"})" << "field \"data\" is missing";
        QTest::newRow("data a number") << R"({"data": 3})" << "field \"data\" must be a string";
        QTest::newRow("split a list") << R"({"data": "d", "split": ["val"]})" << "field \"split\" must be a string";
        QTest::newRow("checkpoint null") << R"({"data": "d", "checkpoint": null})" << "field \"checkpoint\" must be a string";
        QTest::newRow("rule not object") << R"({"data": "d", "rule": 0.4})" << "field \"rule\" must be a JSON object";
        QTest::newRow("rule bad type") << R"({"data": "d", "rule": {"bg_threshold": "high"}})" << "field \"rule\"";
        QTest::newRow("rule unknown key") << R"({"data": "d", "rule": {"threshold": 0.4}})" << "unknown key \"threshold\"";
        QTest::newRow("rule out of range") << R"({"data": "d", "rule": {"bg_threshold": 1.5}})" << "field \"rule\"";
        QTest::newRow("review state") << R"({"data": "d", "reviews": {"x": "maybe"}})" << "unknown review state \"maybe\"";
        QTest::newRow("review type") << R"({"data": "d", "reviews": {"x": 1}})" << "field \"reviews\" of image \"x\"";
        QTest::newRow("reviews list") << R"({"data": "d", "reviews": []})" << "field \"reviews\" must be a JSON object";
        QTest::newRow("newer format") << R"({"format": 2, "data": "d"})" << "field \"format\" is 2";
        QTest::newRow("format text") << R"({"format": "1", "data": "d"})" << "field \"format\" must be an integer";
        QTest::newRow("unknown field") << R"({"data": "d", "thresholds": {}})" << "field \"thresholds\" is not a project field";
    }

    void badFieldsNameTheField()
    {
        QFETCH(QString, content);
        QFETCH(QString, expected);
        const fs::path file = root() / "bad" / (std::string(QTest::currentDataTag()) + ".wsssproj");
        writeText(file, content.toStdString());
        try {
            readStudioProject(file);
            QFAIL("reading must throw");
        } catch (const Error &e) {
            const std::string message = e.what();
            QVERIFY2(message.find(file.string()) != std::string::npos, e.what());
            QVERIFY2(message.find(expected.toStdString()) != std::string::npos, e.what());
        }
    }

    void missingFileNamesIt()
    {
        const fs::path file = root() / "absent.wsssproj";
        try {
            readStudioProject(file);
            QFAIL("reading must throw");
        } catch (const Error &e) {
            QVERIFY2(std::string(e.what()).find(file.string()) != std::string::npos, e.what());
        }
    }
};

QTEST_GUILESS_MAIN(TestStudioProject)
#include "test_studio_project.moc"
