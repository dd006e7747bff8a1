// The mask edits and MaskDocument: brush, eraser, flood and polygon fills and region fills on
// small hand-computed cases, undo/redo byte-exact over a long random sequence, a stroke of many
// moves as one undo step, and when a document counts as corrected.
#include "ui/commands/fill_region.h"
#include "ui/commands/paint_mask.h"
#include "ui/project/mask_document.h"
#include "ui/project/mask_edits.h"

#include <QRandomGenerator>
#include <QSignalSpy>
#include <QUndoStack>
#include <QtTest>

#include <algorithm>
#include <cmath>
#include <vector>

using wsss::ui::LabelImage;
using wsss::ui::MaskDocument;
using wsss::ui::RegionMask;

namespace {

// One character per pixel: '.' = 0, '1'..'9', '#' = 255 (ignore).
LabelImage fromRows(const QStringList &rows)
{
    LabelImage image(rows.isEmpty() ? 0 : static_cast<int>(rows.front().size()), static_cast<int>(rows.size()));
    for (int y = 0; y < image.height; ++y)
        for (int x = 0; x < image.width; ++x) {
            const QChar c = rows[y][x];
            image.at(x, y) = c == '.' ? 0 : c == '#' ? 255 : static_cast<std::uint8_t>(c.digitValue());
        }
    return image;
}

QStringList toRows(const LabelImage &image)
{
    QStringList rows;
    for (int y = 0; y < image.height; ++y) {
        QString row;
        for (int x = 0; x < image.width; ++x) {
            const int v = image.at(x, y);
            row += v == 0 ? QChar('.') : v == 255 ? QChar('#') : v < 10 ? QChar('0' + v) : QChar('?');
        }
        rows << row;
    }
    return rows;
}

int count(const LabelImage &image, std::uint8_t label)
{
    return static_cast<int>(std::count(image.pixels.begin(), image.pixels.end(), label));
}

} // namespace

class TestMaskDocument : public QObject {
    Q_OBJECT

private Q_SLOTS:
    void brushDab_data();
    void brushDab();
    void brushSegmentIsThinAndConnected();
    void strokeLeavesNoGapsBetweenDabs();
    void eraserPaintsBackground();
    void floodFillIsFourConnected();
    void fillWithSameLabelIsNoStep();
    void polygon_data();
    void polygon();
    void regionSetToIgnore();
    void strokeIsOneUndoStep();
    void newStrokeDoesNotMerge();
    void undoMidStrokeStartsNewStep();
    void undoRedoByteExact();
    void correctedState();
    void newBaseReplacesOnlyUncorrected();
    void editHookOncePerEdit();
};

void TestMaskDocument::brushDab_data()
{
    QTest::addColumn<int>("diameter");
    QTest::addColumn<QStringList>("expected");
    // A dab at (3, 3): odd diameters centre on pixel (3, 3), even ones on the corner (3, 3).
    QTest::newRow("1") << 1 << QStringList{".......", ".......", ".......", "...1...", ".......", ".......", "......."};
    QTest::newRow("2") << 2 << QStringList{".......", ".......", "..11...", "..11...", ".......", ".......", "......."};
    QTest::newRow("3") << 3 << QStringList{".......", ".......", "..111..", "..111..", "..111..", ".......", "......."};
    QTest::newRow("4") << 4 << QStringList{".......", "..11...", ".1111..", ".1111..", "..11...", ".......", "......."};
    QTest::newRow("5") << 5 << QStringList{".......", "..111..", ".11111.", ".11111.", ".11111.", "..111..", "......."};
}

void TestMaskDocument::brushDab()
{
    QFETCH(int, diameter);
    QFETCH(QStringList, expected);
    LabelImage image(7, 7);
    const QRect changed = wsss::ui::paintStroke(image, QPointF(3.2, 3.4), QPointF(3.2, 3.4), diameter, 1);
    QCOMPARE(toRows(image), expected);
    QCOMPARE(changed, wsss::ui::RegionMask::ofLabel(image, 1).bounds);
}

void TestMaskDocument::brushSegmentIsThinAndConnected()
{
    // Centres (0.5, 0.5) → (6.5, 2.5), slope 1/3: a pixel is in when its centre is within 0.5 of
    // the segment, i.e. |dy| ≤ 0.5·√10/3 ≈ 0.527 from the line.
    LabelImage image(7, 3);
    const QRect changed = wsss::ui::paintStroke(image, QPointF(0, 0), QPointF(6, 2), 1, 2);
    QCOMPARE(toRows(image), (QStringList{"22.....", "..222..", ".....22"}));
    QCOMPARE(changed, QRect(0, 0, 7, 3));
}

void TestMaskDocument::strokeLeavesNoGapsBetweenDabs()
{
    MaskDocument document("a", LabelImage(50, 11));
    // Mouse moves far apart: the capsule between them is filled, not just the dabs.
    document.paintStroke(3, 3, {QPointF(2, 5), QPointF(20, 5), QPointF(40, 5)});
    QCOMPARE(count(document.mask(), 3), 3 * 41);
    QCOMPARE(RegionMask::ofLabel(document.mask(), 3).bounds, QRect(1, 4, 41, 3));
    QCOMPARE(document.undoStack()->count(), 1);
}

void TestMaskDocument::eraserPaintsBackground()
{
    MaskDocument document("a", LabelImage(5, 5, 4));
    document.paintStroke(0, 1, {QPointF(0, 2), QPointF(4, 2)});
    QCOMPARE(toRows(document.mask()), (QStringList{"44444", "44444", ".....", "44444", "44444"}));
    QCOMPARE(document.undoStack()->text(0), QStringLiteral("Erase stroke"));
    document.paintStroke(7, 1, {QPointF(2, 0)});
    QCOMPARE(document.undoStack()->text(1), QStringLiteral("Paint stroke"));
}

void TestMaskDocument::floodFillIsFourConnected()
{
    LabelImage image = fromRows({"11...", "11...", "..1..", "...11"});
    // (1, 1) and (2, 2) touch only diagonally: the fill stays in the 2×2 block.
    QCOMPARE(wsss::ui::floodFill(image, QPoint(0, 0), 3), QRect(0, 0, 2, 2));
    QCOMPARE(toRows(image), (QStringList{"33...", "33...", "..1..", "...11"}));
    // The zeros split in two, joined only through corners.
    QCOMPARE(wsss::ui::floodFill(image, QPoint(0, 3), 5), QRect(0, 2, 3, 2));
    QCOMPARE(toRows(image), (QStringList{"33...", "33...", "551..", "55511"}));

    MaskDocument document("a", fromRows({"11...", "11...", "..1..", "...11"}));
    QVERIFY(document.fillAt(QPoint(4, 0), 9));
    QCOMPARE(toRows(document.mask()), (QStringList{"11999", "11999", "..199", "...11"}));
    QCOMPARE(document.undoStack()->text(0), QStringLiteral("Fill region"));
    document.undoStack()->undo();
    QCOMPARE(document.mask(), fromRows({"11...", "11...", "..1..", "...11"}));
}

void TestMaskDocument::fillWithSameLabelIsNoStep()
{
    MaskDocument document("a", fromRows({"11..", "11.."}));
    QVERIFY(!document.fillAt(QPoint(0, 0), 1));
    QVERIFY(!document.fillAt(QPoint(9, 9), 2)); // outside
    QVERIFY(!document.fillPolygon(QPolygonF({QPointF(0, 0), QPointF(2, 0), QPointF(2, 2), QPointF(0, 2)}), 1));
    document.paintStroke(1, 1, {QPointF(0, 0), QPointF(1, 1)});
    QCOMPARE(document.undoStack()->count(), 0);
    QVERIFY(!document.isCorrected());
    LabelImage image = fromRows({"11..", "11.."});
    QVERIFY(wsss::ui::floodFill(image, QPoint(0, 0), 1).isEmpty());
    // A fill that changes nothing, pushed anyway, leaves no step.
    document.undoStack()->push(new wsss::ui::FillRegion(&document, RegionMask::ofLabel(image, 1), 1, "Fill region"));
    QCOMPARE(document.undoStack()->count(), 0);
}

void TestMaskDocument::polygon_data()
{
    QTest::addColumn<QPolygonF>("polygon");
    QTest::addColumn<QStringList>("expected");
    // Centres x + ½ in [1, 4), y + ½ in [1, 3).
    QTest::newRow("rectangle") << QPolygonF({QPointF(1, 1), QPointF(4, 1), QPointF(4, 3), QPointF(1, 3)})
                               << QStringList{"......", ".111..", ".111..", "......", "......"};
    // x + y < 5 (centre sum < 6); the hypotenuse's pixels with centre sum exactly 6 are outside.
    QTest::newRow("triangle") << QPolygonF({QPointF(0, 0), QPointF(6, 0), QPointF(0, 6)})
                              << QStringList{"11111.", "1111..", "111...", "11....", "1.....", "......"};
    // A square with a square hole, one outline through a zero-width bridge: even-odd leaves the hole.
    QTest::newRow("hole") << QPolygonF({QPointF(0, 0), QPointF(6, 0), QPointF(6, 6), QPointF(0, 6), QPointF(0, 0),
                                        QPointF(2, 2), QPointF(2, 4), QPointF(4, 4), QPointF(4, 2), QPointF(2, 2)})
                          << QStringList{"111111", "111111", "11..11", "11..11", "111111", "111111"};
    // Half outside the image: clipped.
    QTest::newRow("clipped") << QPolygonF({QPointF(-3, -3), QPointF(2, -3), QPointF(2, 2), QPointF(-3, 2)})
                             << QStringList{"11....", "11....", "......", "......", "......"};
}

void TestMaskDocument::polygon()
{
    QFETCH(QPolygonF, polygon);
    QFETCH(QStringList, expected);
    MaskDocument document("a", LabelImage(static_cast<int>(expected.front().size()), static_cast<int>(expected.size())));
    QSignalSpy changed(&document, &MaskDocument::changed);
    QVERIFY(document.fillPolygon(polygon, 1));
    QCOMPARE(toRows(document.mask()), expected);
    QCOMPARE(changed.count(), 1);
    QCOMPARE(changed.at(0).at(0).toRect(), RegionMask::ofLabel(document.mask(), 1).bounds);
    QCOMPARE(document.undoStack()->text(0), QStringLiteral("Fill polygon"));
}

void TestMaskDocument::regionSetToIgnore()
{
    const LabelImage start = fromRows({"1122", "1122", "3333"});
    MaskDocument document("a", start);
    // A pseudo-mask's class-2 region, set to ignore.
    const LabelImage pseudo = fromRows({"..22", "...2", "...."});
    QVERIFY(document.applyRegion(RegionMask::ofLabel(pseudo, 2), 255, "Set to ignore"));
    QCOMPARE(toRows(document.mask()), (QStringList{"11##", "112#", "3333"}));
    QCOMPARE(document.undoStack()->text(0), QStringLiteral("Set to ignore"));
    const auto *fill = dynamic_cast<const wsss::ui::FillRegion *>(document.undoStack()->command(0));
    QVERIFY(fill);
    QCOMPARE(fill->patch().rect, QRect(2, 0, 2, 2)); // only the changed rect is stored
    QCOMPARE(toRows(fill->patch().before), (QStringList{"22", "22"}));
    document.undoStack()->undo();
    QCOMPARE(document.mask(), start);
}

void TestMaskDocument::strokeIsOneUndoStep()
{
    const LabelImage start(200, 120, 255);
    MaskDocument document("a", start);
    document.beginStroke(6, 7, QPointF(10, 10));
    // 400 moves along a curve across most of the image.
    for (int i = 1; i <= 400; ++i)
        document.continueStroke(QPointF(10 + i * 0.45, 60 + 45 * std::sin(i / 40.0)));
    document.endStroke();
    const LabelImage painted = document.mask();
    QCOMPARE(document.undoStack()->count(), 1);
    QCOMPARE(document.undoStack()->text(0), QStringLiteral("Paint stroke"));
    const auto *paint = dynamic_cast<const wsss::ui::PaintMask *>(document.undoStack()->command(0));
    QVERIFY(paint);
    // Trimmed at mouse-up to the pixels painted, though merging grew it with a margin.
    QCOMPARE(paint->patch().rect, RegionMask::ofLabel(painted, 6).bounds);
    document.undoStack()->undo();
    QCOMPARE(document.mask(), start);
    document.undoStack()->redo();
    QCOMPARE(document.mask(), painted);
}

void TestMaskDocument::newStrokeDoesNotMerge()
{
    MaskDocument document("a", LabelImage(30, 30));
    document.paintStroke(1, 3, {QPointF(5, 5), QPointF(25, 5)});
    const LabelImage first = document.mask();
    // Same label, starting where the last one ended.
    document.paintStroke(1, 3, {QPointF(25, 5), QPointF(25, 25)});
    QCOMPARE(document.undoStack()->count(), 2);
    document.undoStack()->undo();
    QCOMPARE(document.mask(), first);
}

void TestMaskDocument::undoMidStrokeStartsNewStep()
{
    MaskDocument document("a", LabelImage(30, 30));
    document.paintStroke(2, 1, {QPointF(0, 0), QPointF(29, 0)});
    const LabelImage afterFirst = document.mask();
    document.beginStroke(3, 1, QPointF(0, 10));
    document.continueStroke(QPointF(29, 10));
    document.undoStack()->undo(); // Ctrl+Z with the mouse still down
    QCOMPARE(document.mask(), afterFirst);
    document.continueStroke(QPointF(29, 20));
    document.endStroke();
    // The rest of the stroke is its own step, not merged into the first stroke.
    QCOMPARE(document.undoStack()->count(), 2);
    document.undoStack()->undo();
    QCOMPARE(document.mask(), afterFirst);
}

void TestMaskDocument::undoRedoByteExact()
{
    QRandomGenerator random(20240611);
    LabelImage start(61, 43);
    for (auto &v : start.pixels)
        v = random.bounded(5) == 0 ? 255 : static_cast<std::uint8_t>(random.bounded(4));
    MaskDocument document("a", start);
    std::vector<LabelImage> states{start};
    auto point = [&] { return QPointF(random.bounded(70.0) - 4, random.bounded(50.0) - 4); };
    for (int edit = 0; edit < 60; ++edit) {
        const auto label = static_cast<std::uint8_t>(random.bounded(6) == 0 ? 255 : random.bounded(5));
        const int before = document.undoStack()->count();
        switch (random.bounded(4)) {
        case 0: {
            document.beginStroke(label, 1 + random.bounded(9), point());
            for (int i = 0, n = random.bounded(1, 30); i < n; ++i)
                document.continueStroke(point());
            document.endStroke();
            break;
        }
        case 1:
            document.fillAt(QPoint(random.bounded(61), random.bounded(43)), label);
            break;
        case 2:
            document.fillPolygon(QPolygonF({point(), point(), point(), point(), point()}), label);
            break;
        default: {
            LabelImage region(61, 43);
            for (auto &v : region.pixels)
                v = random.bounded(3) == 0;
            document.applyRegion(RegionMask::fromMask(region), label, "Affinity fill");
        }
        }
        if (document.undoStack()->count() > before)
            states.push_back(document.mask());
        QCOMPARE(document.undoStack()->count() + 1, static_cast<int>(states.size()));
    }
    QVERIFY(states.size() > 40);
    for (int i = static_cast<int>(states.size()) - 2; i >= 0; --i) {
        document.undoStack()->undo();
        QVERIFY2(document.mask() == states[i], qPrintable(QString("after undoing to step %1").arg(i)));
    }
    for (std::size_t i = 1; i < states.size(); ++i) {
        document.undoStack()->redo();
        QVERIFY2(document.mask() == states[i], qPrintable(QString("after redoing step %1").arg(i)));
    }
}

void TestMaskDocument::correctedState()
{
    MaskDocument document("a", LabelImage(8, 8));
    QVERIFY(!document.isCorrected());
    document.fillAt(QPoint(0, 0), 3);
    QVERIFY(document.isCorrected());
    document.undoStack()->undo();
    QVERIFY(!document.isCorrected());

    // Loaded from the project's corrected mask: corrected with no edit at all.
    MaskDocument loaded("b");
    QVERIFY(!loaded.hasMask());
    QVERIFY(!loaded.fillAt(QPoint(0, 0), 3)); // no pixels yet
    loaded.setBase(LabelImage(8, 8), LabelImage(8, 8, 2));
    QVERIFY(loaded.loadedFromFile());
    QVERIFY(loaded.isCorrected());
    QCOMPARE(loaded.mask(), LabelImage(8, 8, 2));
}

void TestMaskDocument::newBaseReplacesOnlyUncorrected()
{
    MaskDocument document("a", LabelImage(6, 6, 1));
    QSignalSpy changed(&document, &MaskDocument::changed);
    document.setBase(LabelImage(6, 6, 2)); // the rule moved
    QCOMPARE(document.mask(), LabelImage(6, 6, 2));
    QCOMPARE(changed.count(), 1);
    QCOMPARE(changed.at(0).at(0).toRect(), QRect(0, 0, 6, 6));

    // An edit undone: not corrected, and its crops would be stale over a new base.
    document.fillAt(QPoint(0, 0), 4);
    document.undoStack()->undo();
    document.setBase(LabelImage(6, 6, 3));
    QCOMPARE(document.mask(), LabelImage(6, 6, 3));
    QCOMPARE(document.undoStack()->count(), 0);

    // Corrected: the correction stands.
    document.paintStroke(5, 1, {QPointF(0, 0)});
    const LabelImage corrected = document.mask();
    document.setBase(LabelImage(6, 6, 0));
    QCOMPARE(document.mask(), corrected);
    QCOMPARE(document.undoStack()->count(), 1);
}

void TestMaskDocument::editHookOncePerEdit()
{
    MaskDocument document("a", LabelImage(20, 20));
    QStringList hooked;
    document.setEditHook([&](QUndoCommand *command) { hooked << command->text(); });
    document.beginStroke(1, 3, QPointF(2, 2));
    for (int i = 3; i < 18; ++i)
        document.continueStroke(QPointF(i, i));
    document.endStroke();
    document.fillAt(QPoint(19, 0), 2);
    document.applyRegion(RegionMask::ofLabel(document.mask(), 1), 255, "Set to ignore");
    QCOMPARE(hooked, (QStringList{"Paint stroke", "Fill region", "Set to ignore"}));
}

QTEST_GUILESS_MAIN(TestMaskDocument)
#include "test_mask_document.moc"
