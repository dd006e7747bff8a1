// ProjectDocument on real files: the undo group following the image, review states through the
// undo stack and through save and reopen, the debounced autosave read back by a second document
// (palette PNG indices, 255 kept), undoing every edit removing the mask again, a failed save
// keeping the edits, the dataset folder never written, and a studio killed between edits.
// The kill test runs this binary again as a child (`--edit-child <project>`) that edits and
// autosaves until it is killed with SIGKILL.
#include "ui/project/mask_document.h"
#include "ui/project/project_document.h"
#include "vision/io/palette_png.h"

#include <QDir>
#include <QElapsedTimer>
#include <QEventLoop>
#include <QFile>
#include <QProcess>
#include <QSignalSpy>
#include <QTemporaryDir>
#include <QTextStream>
#include <QUndoGroup>
#include <QUndoStack>
#include <QtTest>

#include <opencv2/core/mat.hpp>

#include <cstring>

#include <signal.h>

using wsss::training::ReviewState;
using wsss::ui::LabelImage;
using wsss::ui::MaskDocument;
using wsss::ui::ProjectDocument;

namespace {

// 48×32: background, a class-3 block, and an ignore (255) band between them, as a β band leaves it.
LabelImage baseMask()
{
    LabelImage mask(48, 32);
    for (int y = 0; y < mask.height; ++y)
        for (int x = 0; x < mask.width; ++x)
            mask.at(x, y) = (x >= 12 && x < 36 && y >= 8 && y < 24) ? 3 : (x >= 10 && x < 38 && y >= 6 && y < 26) ? 255 : 0;
    return mask;
}

// The k-th edit of the kill test: a vertical stroke whose column and label both change with k, so
// every edit changes pixels and every count of edits gives a different mask.
void childEdit(MaskDocument &document, int k)
{
    const double x = (7 * k) % 48;
    document.paintStroke(static_cast<std::uint8_t>(1 + k % 5), 3, {QPointF(x, 0), QPointF(x, 10), QPointF(x, 31)});
}

LabelImage readMask(const QString &path)
{
    const cv::Mat labels = wsss::vision::readLabelPng(path.toStdString());
    LabelImage image(labels.cols, labels.rows);
    for (int y = 0; y < labels.rows; ++y)
        std::memcpy(&image.at(0, y), labels.ptr<std::uint8_t>(y), static_cast<std::size_t>(labels.cols));
    return image;
}

int countLabel(const LabelImage &image, std::uint8_t label)
{
    return static_cast<int>(std::count(image.pixels.begin(), image.pixels.end(), label));
}

// The child of killBetweenEdits: edits, waits for each autosave, reports it, until killed.
int runEditChild(const QString &projectPath)
{
    ProjectDocument project;
    project.setAutosaveInterval(20);
    if (!project.open(projectPath))
        return 2;
    MaskDocument *document = project.maskDocument("img", baseMask());
    QTextStream out(stdout);
    for (int k = 1; k <= 500; ++k) {
        childEdit(*document, k);
        QEventLoop loop;
        QObject::connect(&project, &ProjectDocument::saved, &loop, [&] { loop.exit(0); });
        QObject::connect(&project, &ProjectDocument::saveFailed, &loop, [&] { loop.exit(1); });
        if (loop.exec() != 0)
            return 3;
        out << "saved " << k << Qt::endl;
    }
    return 0;
}

} // namespace

class TestProjectDocument : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    QString m_root; // this test's folder

    QString projectPath() const { return m_root + "/studio.wsssproj"; }
    QString masksFolder() const { return m_root + "/studio.masks"; }
    QString maskPath(const QString &id) const { return masksFolder() + "/" + id + ".png"; }
    QString dataFolder() const { return m_root + "/data"; }
    wsss::training::StudioProject newProject() const
    {
        wsss::training::StudioProject project;
        project.data = dataFolder().toStdString();
        return project;
    }
    static QStringList filesIn(const QString &folder)
    {
        return QDir(folder).entryList(QDir::Files | QDir::Dirs | QDir::Hidden | QDir::NoDotAndDotDot);
    }

private Q_SLOTS:
    void init();
    void undoGroupFollowsImage();
    void editMarksCorrectedInTheSameStep();
    void reviewStatesRoundTrip();
    void autosaveAfterDebounce();
    void nonstopEditingStillSaves();
    void undoingEveryEditRemovesTheMask();
    void failedSaveKeepsEdits();
    void neverWritesIntoTheDataset();
    void ruleAndImageRoundTrip();
    void newBaseUntilCorrected();
    void correctedMaskOfAnotherSizeIsIgnored();
    void saveAsTakesTheMasksAlong();
    void killBetweenEdits();
};

void TestProjectDocument::init()
{
    QVERIFY(m_dir.isValid());
    m_root = m_dir.path() + "/" + QTest::currentTestFunction();
    QVERIFY(QDir().mkpath(dataFolder()));
}

void TestProjectDocument::undoGroupFollowsImage()
{
    ProjectDocument project;
    QVERIFY(project.create(projectPath(), newProject()));
    QUndoGroup *group = project.undoGroup();
    project.setCurrentImage("a");
    MaskDocument *a = project.maskDocument("a", baseMask());
    QCOMPARE(group->activeStack(), a->undoStack());
    a->paintStroke(7, 3, {QPointF(2, 2), QPointF(20, 2)});
    QCOMPARE(group->undoText(), QStringLiteral("Paint stroke"));

    project.setCurrentImage("b");
    MaskDocument *b = project.maskDocument("b", baseMask());
    QCOMPARE(group->activeStack(), b->undoStack());
    QVERIFY(!group->canUndo());
    project.setReview("b", ReviewState::Accepted);
    QCOMPARE(group->undoText(), QStringLiteral("Mark accepted"));

    project.setCurrentImage("c"); // shown, never edited
    QVERIFY(project.findMaskDocument("c"));
    QCOMPARE(group->activeStack(), project.findMaskDocument("c")->undoStack());
    project.setCurrentImage("a");
    QCOMPARE(group->activeStack(), a->undoStack());
    QVERIFY(!project.findMaskDocument("c")); // nothing to undo: released
    QCOMPARE(project.findMaskDocument("b"), b); // its verdict can still be undone
    QCOMPARE(group->undoText(), QStringLiteral("Paint stroke"));
    group->undo();
    QCOMPARE(a->mask(), baseMask());
    QCOMPARE(project.review("b"), ReviewState::Accepted); // another image's stack
}

void TestProjectDocument::editMarksCorrectedInTheSameStep()
{
    ProjectDocument project;
    QVERIFY(project.create(projectPath(), newProject()));
    QSignalSpy reviews(&project, &ProjectDocument::reviewChanged);
    MaskDocument *a = project.maskDocument("a", baseMask());
    a->fillAt(QPoint(0, 0), 5);
    QCOMPARE(project.review("a"), ReviewState::Corrected);
    QCOMPARE(reviews.count(), 1);
    QCOMPARE(reviews.at(0).at(0).toString(), QStringLiteral("a"));
    QCOMPARE(reviews.at(0).at(1).value<ReviewState>(), ReviewState::Corrected);
    a->fillAt(QPoint(47, 31), 6); // already corrected: no second verdict
    QCOMPARE(a->undoStack()->count(), 2);
    QCOMPARE(reviews.count(), 1);
    a->undoStack()->undo();
    QCOMPARE(project.review("a"), ReviewState::Corrected);
    a->undoStack()->undo();
    QCOMPARE(project.review("a"), ReviewState::Unreviewed);
    a->undoStack()->redo();
    QCOMPARE(project.review("a"), ReviewState::Corrected);

    // Accepted, then edited: corrected; undoing the edit gives the verdict back.
    MaskDocument *b = project.maskDocument("b", baseMask());
    project.setReview("b", ReviewState::Accepted);
    b->paintStroke(0, 5, {QPointF(20, 16)});
    QCOMPARE(project.review("b"), ReviewState::Corrected);
    QCOMPARE(b->undoStack()->count(), 2);
    b->undoStack()->undo();
    QCOMPARE(project.review("b"), ReviewState::Accepted);
    b->undoStack()->undo();
    QCOMPARE(project.review("b"), ReviewState::Unreviewed);
}

void TestProjectDocument::reviewStatesRoundTrip()
{
    {
        ProjectDocument project;
        project.setAutosaveInterval(-1);
        QVERIFY(project.create(projectPath(), newProject()));
        project.setReview("a", ReviewState::Accepted);
        project.setReview("b", ReviewState::Rejected);
        project.maskDocument("c", baseMask())->fillAt(QPoint(20, 16), 1);
        project.setReview("d", ReviewState::Accepted);
        project.maskDocument("d")->undoStack()->undo();
        QVERIFY(project.isDirty());
        QVERIFY(project.save());
        QVERIFY(!project.isDirty());
    }
    ProjectDocument reopened;
    QVERIFY(reopened.open(projectPath()));
    QCOMPARE(reopened.review("a"), ReviewState::Accepted);
    QCOMPARE(reopened.review("b"), ReviewState::Rejected);
    QCOMPARE(reopened.review("c"), ReviewState::Corrected);
    QCOMPARE(reopened.review("d"), ReviewState::Unreviewed);
    QCOMPARE(reopened.project().reviews.size(), std::size_t(3));
    QVERIFY(reopened.maskDocument("c", baseMask())->loadedFromFile());
    QVERIFY(!QFile::exists(maskPath("a")));
}

void TestProjectDocument::autosaveAfterDebounce()
{
    ProjectDocument project;
    project.setAutosaveInterval(300);
    QVERIFY(project.create(projectPath(), newProject()));
    QSignalSpy saved(&project, &ProjectDocument::saved);
    MaskDocument *a = project.maskDocument("a", baseMask());
    a->paintStroke(9, 5, {QPointF(0, 16), QPointF(47, 16)});
    a->fillAt(QPoint(0, 0), 4);
    QVERIFY(!QFile::exists(maskPath("a"))); // not before the delay
    QVERIFY(project.isDirty());
    QVERIFY(saved.wait(5000));
    QCOMPARE(saved.count(), 1); // two edits, one save
    QVERIFY(!project.isDirty());

    // The file: class indices as painted, the ignore band's 255 kept.
    const LabelImage written = readMask(maskPath("a"));
    QCOMPARE(written, a->mask());
    QVERIFY(countLabel(written, 255) > 0);
    QVERIFY(countLabel(written, 9) > 0);
    QVERIFY(countLabel(written, 4) > 0);

    ProjectDocument other;
    QVERIFY(other.open(projectPath()));
    MaskDocument *seen = other.maskDocument("a", baseMask());
    QVERIFY(seen->loadedFromFile());
    QVERIFY(seen->isCorrected());
    QCOMPARE(seen->mask(), a->mask());
    QCOMPARE(other.review("a"), ReviewState::Corrected);
}

void TestProjectDocument::nonstopEditingStillSaves()
{
    ProjectDocument project;
    project.setAutosaveInterval(100);
    QVERIFY(project.create(projectPath(), newProject()));
    QSignalSpy saved(&project, &ProjectDocument::saved);
    MaskDocument *a = project.maskDocument("a", baseMask());
    // A change every 30 ms for 1.5 s never leaves a 100 ms pause, yet saves come at the latest
    // kAutosaveMaxDelays delays after the first unsaved change.
    QElapsedTimer clock;
    clock.start();
    for (int k = 0; clock.elapsed() < 1500; ++k) {
        a->paintStroke(static_cast<std::uint8_t>(1 + k % 2), 1, {QPointF(k % 48, 0)});
        QTest::qWait(30);
    }
    QVERIFY2(saved.count() >= 1, "no autosave during nonstop editing");
}

void TestProjectDocument::undoingEveryEditRemovesTheMask()
{
    ProjectDocument project;
    project.setAutosaveInterval(-1);
    QVERIFY(project.create(projectPath(), newProject()));
    MaskDocument *a = project.maskDocument("a", baseMask());
    a->paintStroke(1, 3, {QPointF(5, 5), QPointF(40, 25)});
    a->fillAt(QPoint(24, 16), 2);
    QVERIFY(project.saveNow());
    QVERIFY(QFile::exists(maskPath("a")));
    a->undoStack()->undo();
    a->undoStack()->undo();
    QCOMPARE(a->mask(), baseMask());
    QVERIFY(!a->isCorrected());
    QCOMPARE(project.review("a"), ReviewState::Unreviewed);
    QVERIFY(project.saveNow());
    QVERIFY(!QFile::exists(maskPath("a")));

    ProjectDocument reopened;
    QVERIFY(reopened.open(projectPath()));
    QCOMPARE(reopened.review("a"), ReviewState::Unreviewed);
    QVERIFY(!reopened.maskDocument("a", baseMask())->isCorrected());
}

void TestProjectDocument::failedSaveKeepsEdits()
{
    ProjectDocument project;
    project.setAutosaveInterval(-1);
    QVERIFY(project.create(projectPath(), newProject()));
    // A file where the masks folder should be: no mask can be written (a full disk, as root too).
    {
        QFile blocker(masksFolder());
        QVERIFY(blocker.open(QIODevice::WriteOnly));
    }
    QSignalSpy failed(&project, &ProjectDocument::saveFailed);
    MaskDocument *a = project.maskDocument("a", baseMask());
    a->paintStroke(6, 3, {QPointF(0, 0), QPointF(47, 31)});
    QVERIFY(!project.saveNow());
    QCOMPARE(failed.count(), 1);
    const QString message = failed.at(0).at(0).toString();
    QVERIFY2(message.contains(maskPath("a")), qPrintable(message));
    QCOMPARE(project.errorString(), message);
    QVERIFY(project.isDirty());
    QVERIFY(a->isCorrected());

    // Space again: the next change saves both edits.
    QVERIFY(QFile::remove(masksFolder()));
    project.setAutosaveInterval(50);
    QSignalSpy saved(&project, &ProjectDocument::saved);
    a->fillAt(QPoint(47, 0), 8);
    QVERIFY(saved.wait(5000));
    QVERIFY(!project.isDirty());
    ProjectDocument reopened;
    QVERIFY(reopened.open(projectPath()));
    QCOMPARE(reopened.maskDocument("a", baseMask())->mask(), a->mask());
}

void TestProjectDocument::neverWritesIntoTheDataset()
{
    auto inside = newProject();
    inside.masks = (dataFolder() + "/masks").toStdString();
    ProjectDocument project;
    project.setAutosaveInterval(-1);
    QVERIFY(project.create(projectPath(), inside));
    QSignalSpy failed(&project, &ProjectDocument::saveFailed);
    project.maskDocument("a", baseMask())->fillAt(QPoint(0, 0), 2);
    QVERIFY(!project.saveNow());
    QCOMPARE(failed.count(), 1);
    QVERIFY2(failed.at(0).at(0).toString().contains("inside the dataset folder"), qPrintable(failed.at(0).at(0).toString()));
    QVERIFY(!project.saveAs(dataFolder() + "/moved.wsssproj"));
    QCOMPARE(filesIn(dataFolder()), QStringList());
    QVERIFY(project.isDirty()); // the edit stays in memory
}

void TestProjectDocument::ruleAndImageRoundTrip()
{
    wsss::vision::PseudoLabelRule rule;
    rule.background = wsss::vision::BackgroundRule::Band;
    rule.bandLow = 0.3f;
    rule.bandHigh = 0.6f;
    {
        ProjectDocument project;
        project.setAutosaveInterval(50);
        QVERIFY(project.create(projectPath(), newProject()));
        QSignalSpy ruleChanged(&project, &ProjectDocument::ruleChanged);
        QSignalSpy saved(&project, &ProjectDocument::saved);
        project.setRule(rule);
        project.setRule(rule);
        QCOMPARE(ruleChanged.count(), 1);
        project.setCurrentImage("x");
        QVERIFY(saved.wait(5000));
    }
    ProjectDocument reopened;
    QVERIFY(reopened.open(projectPath()));
    QVERIFY(reopened.rule() == rule);
    QCOMPARE(reopened.currentImage(), QStringLiteral("x"));
    QVERIFY(reopened.findMaskDocument("x"));
    QCOMPARE(reopened.undoGroup()->activeStack(), reopened.findMaskDocument("x")->undoStack());
}

void TestProjectDocument::newBaseUntilCorrected()
{
    ProjectDocument project;
    project.setAutosaveInterval(-1);
    QVERIFY(project.create(projectPath(), newProject()));
    MaskDocument *a = project.maskDocument("a", baseMask());
    QCOMPARE(project.maskDocument("a", LabelImage(48, 32, 1)), a); // the threshold moved
    QCOMPARE(a->mask(), LabelImage(48, 32, 1));
    a->fillAt(QPoint(0, 0), 2);
    project.maskDocument("a", baseMask());
    QCOMPARE(a->mask(), LabelImage(48, 32, 2));
}

void TestProjectDocument::correctedMaskOfAnotherSizeIsIgnored()
{
    ProjectDocument project;
    project.setAutosaveInterval(-1);
    QVERIFY(project.create(projectPath(), newProject()));
    const cv::Mat small(10, 10, CV_8UC1, cv::Scalar(4));
    wsss::vision::writeLabelPng(maskPath("a").toStdString(), small, wsss::vision::paletteFor(wsss::vision::vocLabelMap()));
    QSignalSpy failed(&project, &ProjectDocument::loadFailed);
    MaskDocument *a = project.maskDocument("a", baseMask());
    QCOMPARE(failed.count(), 1);
    QVERIFY2(failed.at(0).at(0).toString().contains(maskPath("a")), qPrintable(failed.at(0).at(0).toString()));
    QCOMPARE(a->mask(), baseMask());
    QVERIFY(!a->isCorrected());
}

void TestProjectDocument::saveAsTakesTheMasksAlong()
{
    ProjectDocument project;
    project.setAutosaveInterval(-1);
    QVERIFY(project.create(projectPath(), newProject()));
    MaskDocument *a = project.maskDocument("a", baseMask());
    a->fillAt(QPoint(0, 0), 1);
    QVERIFY(project.save());
    const LabelImage first = a->mask();

    const QString copy = m_root + "/copy.wsssproj";
    QVERIFY(project.saveAs(copy));
    QCOMPARE(project.filePath(), copy);
    QCOMPARE(readMask(m_root + "/copy.masks/a.png"), first);
    a->fillAt(QPoint(24, 16), 2);
    QVERIFY(project.saveNow());
    QCOMPARE(readMask(m_root + "/copy.masks/a.png"), a->mask());
    QCOMPARE(readMask(maskPath("a")), first); // the old project keeps its own

    ProjectDocument reopened;
    QVERIFY(reopened.open(copy));
    QCOMPARE(reopened.maskDocument("a", baseMask())->mask(), a->mask());
}

void TestProjectDocument::killBetweenEdits()
{
    {
        ProjectDocument project;
        QVERIFY(project.create(projectPath(), newProject()));
    }
    QProcess child;
    child.setProcessChannelMode(QProcess::ForwardedErrorChannel);
    child.start(QCoreApplication::applicationFilePath(), {"--edit-child", projectPath()});
    QVERIFY(child.waitForStarted());
    // Kill it after its third autosave, wherever it is then: editing, waiting or writing.
    int reported = 0;
    QElapsedTimer clock;
    clock.start();
    while (reported < 3 && clock.elapsed() < 60000 && child.state() == QProcess::Running) {
        if (!child.canReadLine())
            child.waitForReadyRead(1000);
        while (child.canReadLine()) {
            const QByteArray line = child.readLine().trimmed();
            QVERIFY2(line.startsWith("saved "), line.constData());
            reported = line.mid(6).toInt();
        }
    }
    QCOMPARE(reported, 3);
    QCOMPARE(::kill(static_cast<pid_t>(child.processId()), SIGKILL), 0);
    QVERIFY(child.waitForFinished(10000));
    QCOMPARE(child.exitStatus(), QProcess::CrashExit);

    ProjectDocument reopened;
    QVERIFY(reopened.open(projectPath())); // also clears a temporary the kill left
    QCOMPARE(filesIn(masksFolder()), QStringList{"img.png"});
    QCOMPARE(reopened.review("img"), ReviewState::Corrected);
    const LabelImage recovered = reopened.maskDocument("img", baseMask())->mask();
    // Every autosaved edit is there: the mask is the one after k ≥ 3 edits (k > 3 when the child
    // saved again before the kill landed).
    MaskDocument replay("img", baseMask());
    int k = 0;
    while (k < 500 && replay.mask() != recovered)
        childEdit(replay, ++k);
    QVERIFY2(replay.mask() == recovered, "the recovered mask is no state the child saved");
    QVERIFY2(k >= reported, qPrintable(QString("recovered %1 edits, %2 were saved").arg(k).arg(reported)));
}

int main(int argc, char **argv)
{
    if (argc == 3 && std::strcmp(argv[1], "--edit-child") == 0) {
        QCoreApplication app(argc, argv);
        return runEditChild(QString::fromLocal8Bit(argv[2]));
    }
    QCoreApplication app(argc, argv);
    TestProjectDocument test;
    QTEST_SET_MAIN_SOURCE_PATH
    return QTest::qExec(&test, argc, argv);
}

#include "test_project_document.moc"
