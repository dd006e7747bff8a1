// The canvas's Dear ImGui HUD in a studio window on a tiny demo run: it draws when shown and
// nothing when hidden, a hidden HUD takes no clicks (they select patches), a shown one keeps the
// clicks on its panel, and its slider edits the one rule that the thresholds dock shows.
#include "support/tiny_demo_run.h"
#include "ui/canvas/canvas_widget.h"
#include "ui/canvas/hud_overlay.h"
#include "ui/docks/thresholds_dock.h"
#include "ui/main_window.h"

#include <QAction>
#include <QApplication>
#include <QMouseEvent>
#include <QSet>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <cmath>
#include <memory>

using wsss::ui::CanvasWidget;
using wsss::ui::HudOverlay;
using wsss::ui::HudState;
using wsss::ui::MainWindow;

class TestHud : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();
    void init();

    void drawsWhenShownOnly();
    void readsTheCursor();
    void hiddenHudLeavesClicksToCanvas();
    void shownHudKeepsItsClicks();
    void sliderEditsTheRule();
    void ownBackgroundHasNoSliders();
    void toggleKey_data();
    void toggleKey();

private:
    CanvasWidget *canvas() const { return m_window->canvas(); }
    // Shows the HUD and waits until it has drawn a settled panel.
    void showHud();
    QPoint hudCentreInCanvas() const;
    int expectedTokenAt(QPoint canvasPos) const;
    static int differingPixels(const QImage &a, const QImage &b);

    QTemporaryDir m_dir;
    std::unique_ptr<MainWindow> m_window;
};

void TestHud::initTestCase()
{
    QVERIFY(m_dir.isValid());
    QStandardPaths::setTestModeEnabled(true);
    QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, m_dir.filePath(QStringLiteral("settings")));
    QCoreApplication::setOrganizationName(QStringLiteral("WSSS Studio Tests"));
    QCoreApplication::setApplicationName(QStringLiteral("test_hud"));
    QSettings().clear();

    const auto run = wsss::test::makeTinyDemoRun(m_dir.path().toStdString(), 2);
    m_window = std::make_unique<MainWindow>();
    m_window->resize(1300, 850);
    m_window->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
    QSignalSpy shown(m_window.get(), &MainWindow::inspectionShown);
    QVERIFY2(m_window->openDataset(QString::fromStdString(run.data), QStringLiteral("val")),
             qPrintable(m_window->lastError()));
    m_window->openCheckpoint(QString::fromStdString(run.trained.checkpointPath), QStringLiteral("cpu"));
    QVERIFY2(shown.wait(60000), qPrintable(m_window->lastError()));
    QVERIFY(canvas()->inspection());
}

void TestHud::cleanupTestCase()
{
    m_window.reset(); // joins the engine's worker before the temporary folder goes
}

void TestHud::init()
{
    m_window->setRule(wsss::vision::PseudoLabelRule{}); // what a test before changed
    canvas()->setHudVisible(false);
    // Zoomed so the image covers the whole canvas, the HUD's corner included.
    canvas()->fitToWindow();
    canvas()->zoomAt(QPointF(canvas()->width() / 2.0, canvas()->height() / 2.0), 4.0);
    canvas()->setQueryToken(canvas()->inspection()->prefixTokens); // the top-left patch, off screen
    canvas()->setFocus();
}

void TestHud::showHud()
{
    canvas()->setHudVisible(true);
    HudOverlay *hud = canvas()->hud();
    QVERIFY(hud && hud->isVisible());
    QVERIFY(QTest::qWaitForWindowExposed(hud));
    // A few frames: the first measures the panel, the widget then takes its size.
    for (int i = 0; i < 4; ++i) {
        hud->repaint();
        QCoreApplication::processEvents();
    }
    QVERIFY(hud->frameCount() > 0);
    QVERIFY(!hud->sliderRect(QStringLiteral("bgThreshold")).isEmpty());
}

QPoint TestHud::hudCentreInCanvas() const
{
    return canvas()->hud()->geometry().center();
}

int TestHud::expectedTokenAt(QPoint canvasPos) const
{
    const auto &ins = *canvas()->inspection();
    const QPointF p = canvas()->widgetToImage(QPointF(canvasPos) + QPointF(0.5, 0.5));
    const int col = static_cast<int>(std::floor(p.x() * ins.gridWidth / ins.imageWidth));
    const int row = static_cast<int>(std::floor(p.y() * ins.gridHeight / ins.imageHeight));
    return ins.prefixTokens + row * ins.gridWidth + col;
}

int TestHud::differingPixels(const QImage &a, const QImage &b)
{
    if (a.size() != b.size())
        return -1;
    const QImage x = a.convertToFormat(QImage::Format_RGB32), y = b.convertToFormat(QImage::Format_RGB32);
    int n = 0;
    for (int row = 0; row < x.height(); ++row)
        for (int col = 0; col < x.width(); ++col)
            n += x.pixel(col, row) != y.pixel(col, row);
    return n;
}

void TestHud::drawsWhenShownOnly()
{
    const QImage hidden = canvas()->grab().toImage();
    showHud();
    const QRect area = canvas()->hud()->geometry();
    const QImage shown = canvas()->grab().toImage();
    // The panel covers its corner: most of its pixels differ from the image beneath.
    QVERIFY2(differingPixels(hidden.copy(area), shown.copy(area)) > area.width() * area.height() / 4,
             "the HUD left the canvas unchanged");
    // Its own frame has text, a slider and rules: several colours, not one fill.
    const QImage frame = canvas()->hud()->grabFramebuffer().convertToFormat(QImage::Format_RGB32);
    QSet<QRgb> colors;
    for (int y = 0; y < frame.height(); y += 2)
        for (int x = 0; x < frame.width(); x += 2)
            colors.insert(frame.pixel(x, y));
    QVERIFY(colors.size() > 4);

    canvas()->setHudVisible(false);
    QVERIFY(!canvas()->hud()->isVisible());
    QCOMPARE(differingPixels(hidden, canvas()->grab().toImage()), 0);
}

void TestHud::readsTheCursor()
{
    showHud();
    const QPoint at(canvas()->width() / 3, canvas()->height() / 2);
    QMouseEvent move(QEvent::MouseMove, QPointF(at), canvas()->mapToGlobal(QPointF(at)), Qt::NoButton,
                     Qt::NoButton, Qt::NoModifier);
    QApplication::sendEvent(canvas(), &move);
    const auto &state = canvas()->hud()->state();
    QVERIFY(state.hasImage && state.hasPixel);
    const QPointF p = canvas()->widgetToImage(QPointF(at));
    QCOMPARE(state.pixel, QPoint(static_cast<int>(std::floor(p.x())), static_cast<int>(std::floor(p.y()))));
    QCOMPARE(canvas()->inspection()->prefixTokens + state.patchIndex, expectedTokenAt(at));
    // Every map of the image's classes (and of the background, where a method has one), no other.
    const auto &ins = *canvas()->inspection();
    QVERIFY(!ins.imageLabels.empty());
    std::vector<const wsss::training::ClassMap *> expected;
    for (const auto &m : ins.maps)
        if (m.classIndex == 0 || std::count(ins.imageLabels.begin(), ins.imageLabels.end(), m.classIndex))
            expected.push_back(&m);
    QVERIFY(expected.size() < ins.maps.size()); // the demo's ten classes: some are not the image's
    QCOMPARE(state.values.size(), expected.size());
    const auto &first = *expected.front();
    QCOMPARE(state.values.front().value, first.values[static_cast<size_t>(state.pixel.y()) * ins.imageWidth + state.pixel.x()]);
    QVERIFY(state.values.front().label.endsWith(QString::fromStdString(ins.classNames[static_cast<size_t>(first.classIndex)])));
}

void TestHud::hiddenHudLeavesClicksToCanvas()
{
    showHud();
    const QPoint at = hudCentreInCanvas();
    canvas()->setHudVisible(false);
    const int expected = expectedTokenAt(at);
    QVERIFY(expected != canvas()->queryToken());
    QSignalSpy changed(canvas(), &CanvasWidget::queryChanged);
    QTest::mouseClick(canvas(), Qt::LeftButton, Qt::NoModifier, at);
    QCOMPARE(canvas()->queryToken(), expected);
    QCOMPARE(changed.count(), 1);
}

void TestHud::shownHudKeepsItsClicks()
{
    showHud();
    HudOverlay *hud = canvas()->hud();
    // On the panel's first line (the cursor readout), not on one of its controls.
    const QPoint at = hud->geometry().topLeft() + QPoint(hud->width() / 2, 10);
    const int before = canvas()->queryToken();
    const auto rule = m_window->rule();
    QVERIFY(expectedTokenAt(at) != before);
    // A click lands on the HUD widget (the child under the point), not the canvas.
    QCOMPARE(canvas()->childAt(at), static_cast<QWidget *>(hud));
    QTest::mouseClick(hud, Qt::LeftButton, Qt::NoModifier, hud->mapFrom(canvas(), at));
    QCOMPARE(canvas()->queryToken(), before);
    QCOMPARE(m_window->rule(), rule);
}

void TestHud::sliderEditsTheRule()
{
    m_window->setBgThreshold(0.30);
    showHud();
    HudOverlay *hud = canvas()->hud();
    QCOMPARE(hud->state().rule.bgThreshold, 0.30f);
    const QRect slider = hud->sliderRect(QStringLiteral("bgThreshold"));
    QSignalSpy edited(canvas(), &CanvasWidget::ruleEdited);
    // ImGui's slider maps its frame (less a grab's half width each side) onto [0, 1]: a click at
    // 80% of the frame lands near 0.8.
    const QPoint at(slider.left() + qRound(0.8 * slider.width()), slider.center().y());
    QTest::mouseClick(hud, Qt::LeftButton, Qt::NoModifier, at);
    QVERIFY(edited.count() >= 1);
    const float value = m_window->rule().bgThreshold;
    QVERIFY2(value > 0.7f && value < 0.9f, qPrintable(QString::number(value)));
    // The one rule: the thresholds dock, the canvas and the HUD all show it.
    QCOMPARE(m_window->thresholdsDock()->rule().bgThreshold, value);
    QCOMPARE(canvas()->rule().bgThreshold, value);
    QCOMPARE(hud->state().rule.bgThreshold, value);
    m_window->setBgThreshold(0.45);
    QCOMPARE(hud->state().rule.bgThreshold, 0.45f);
}

// A map that scores the background itself: the HUD offers no threshold or band to slide.
void TestHud::ownBackgroundHasNoSliders()
{
    showHud();
    HudOverlay *hud = canvas()->hud();
    QVERIFY(!hud->sliderRect(QStringLiteral("bgThreshold")).isEmpty());
    HudState state = hud->state();
    state.ownBackground = true;
    hud->setState(state);
    hud->repaint();
    QCoreApplication::processEvents();
    QVERIFY(hud->sliderRect(QStringLiteral("bgThreshold")).isEmpty());
    state.ownBackground = false;
    hud->setState(state);
    hud->repaint();
    QCoreApplication::processEvents();
    QVERIFY(!hud->sliderRect(QStringLiteral("bgThreshold")).isEmpty());
}

void TestHud::toggleKey_data()
{
    QTest::addColumn<int>("key");
    QTest::newRow("H") << int(Qt::Key_H);
    QTest::newRow("F1") << int(Qt::Key_F1);
}

void TestHud::toggleKey()
{
    QFETCH(int, key);
    m_window->activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(m_window.get()));
    canvas()->setFocus();
    QVERIFY(!canvas()->hudVisible());
    QTest::keyClick(canvas(), Qt::Key(key));
    QVERIFY(canvas()->hudVisible());
    QVERIFY(canvas()->hudAction()->isChecked());
    QTest::keyClick(canvas(), Qt::Key(key));
    QVERIFY(!canvas()->hudVisible());
    QVERIFY(!canvas()->hudAction()->isChecked());
}

QTEST_MAIN(TestHud)
#include "test_hud.moc"
