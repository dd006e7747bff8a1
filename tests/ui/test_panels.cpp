// The studio's inspection panels end to end, on a tiny demo dataset and a two-step checkpoint in
// a real MainWindow with the real engine: the attention grid (layers × heads + mean, class-token
// toggle, click to enlarge, arrow keys), the thresholds dock (live mask, one source of truth with
// the toolbar, resets), the evaluation job and its plots, the pseudo-mask following every rule change at 512²,
// and the studio state that persists across windows.
#include "support/tiny_demo_run.h"
#include "ui/canvas/canvas_widget.h"
#include "ui/canvas/color_map.h"
#include "ui/docks/attention_dock.h"
#include "ui/docks/evaluation_dock.h"
#include "ui/docks/thresholds_dock.h"
#include "ui/engine/engine_bridge.h"
#include "ui/main_window.h"
#include "vision/io/voc_reader.h"

#include <QComboBox>
#include <QCheckBox>
#include <QDoubleSpinBox>
#include <QPushButton>
#include <QSettings>
#include <QSignalSpy>
#include <QSlider>
#include <QStandardPaths>
#include <QTableWidget>
#include <QTemporaryDir>
#include <QTest>
#include <QToolButton>

#include <algorithm>
#include <cmath>
#include <memory>
#include <random>

using wsss::ui::AttentionDock;
using wsss::ui::CanvasWidget;
using wsss::ui::MainWindow;

class TestPanels : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();
    void init();

    void attentionGridShape();
    void attentionGridFollowsQuery();
    void classTokenToggle();
    void clickingCellEnlargesIt_data();
    void clickingCellEnlargesIt();
    void arrowKeysMoveQuery_data();
    void arrowKeysMoveQuery();
    void sliderChangesMaskLive();
    void toolbarAndDockShareTheRule();
    void resetButtons();
    void maskFollowsEveryRuleChangeAt512();
    void evaluationCancel();
    void evaluationSweep();
    void statePersists();

private:
    const wsss::training::Inspection &inspection() const { return *m_window->canvas()->inspection(); }
    AttentionDock *attention() const { return m_window->attentionDock(); }
    std::vector<QImage> gridImages() const;
    int centreToken() const;
    // The cell as the test expects it: the row of `token` for (layer, head) over the patches,
    // stretched over its own range through the colour map.
    QImage expectedCell(int token, int layer, int head) const;

    QTemporaryDir m_dir;
    QString m_data;
    wsss::training::TrainResult m_trained;
    std::unique_ptr<MainWindow> m_window;
};

void TestPanels::initTestCase()
{
    QVERIFY(m_dir.isValid());
    // Never the user's own studio state: test mode, and QSettings in the temporary folder.
    QStandardPaths::setTestModeEnabled(true);
    QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, m_dir.filePath(QStringLiteral("settings")));
    QCoreApplication::setOrganizationName(QStringLiteral("WSSS Studio Tests"));
    QCoreApplication::setApplicationName(QStringLiteral("test_panels"));
    QSettings().clear();

    const auto run = wsss::test::makeTinyDemoRun(m_dir.path().toStdString(), 3);
    m_data = QString::fromStdString(run.data);
    m_trained = run.trained;

    m_window = std::make_unique<MainWindow>();
    m_window->resize(1400, 900);
    m_window->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
    QSignalSpy shown(m_window.get(), &MainWindow::inspectionShown);
    QVERIFY2(m_window->openDataset(m_data, QStringLiteral("val")), qPrintable(m_window->lastError()));
    m_window->openCheckpoint(QString::fromStdString(m_trained.checkpointPath), QStringLiteral("cpu"));
    QVERIFY2(shown.wait(60000), qPrintable(m_window->lastError()));
    QVERIFY(m_window->canvas()->inspection());
    QVERIFY(inspection().gridWidth > 2 && inspection().gridHeight > 2);
    QVERIFY(inspection().attention.size() > 1);
}

void TestPanels::cleanupTestCase()
{
    m_window.reset(); // joins the engine's worker before the temporary folder goes
}

void TestPanels::init()
{
    attention()->setShowClassToken(false);
    m_window->canvas()->setFocus();
}

std::vector<QImage> TestPanels::gridImages() const
{
    std::vector<QImage> out;
    for (int l = 0; l < attention()->gridRows(); ++l)
        for (int c = 0; c < attention()->gridColumns(); ++c)
            out.push_back(attention()->gridImage(l, c));
    return out;
}

int TestPanels::centreToken() const
{
    const auto &ins = inspection();
    return ins.prefixTokens + (ins.gridHeight / 2) * ins.gridWidth + ins.gridWidth / 2;
}

QImage TestPanels::expectedCell(int token, int layer, int head) const
{
    const auto &ins = inspection();
    const auto &att = ins.attention[static_cast<size_t>(layer)];
    const int patches = ins.gridWidth * ins.gridHeight;
    const size_t plane = static_cast<size_t>(att.tokens) * att.tokens;
    std::vector<float> values(static_cast<size_t>(patches), 0.0f);
    for (int h = 0; h < att.heads; ++h) {
        if (head >= 0 && h != head)
            continue;
        for (int p = 0; p < patches; ++p)
            values[static_cast<size_t>(p)] +=
                att.probs[h * plane + static_cast<size_t>(token) * att.tokens + ins.prefixTokens + p];
    }
    if (head < 0)
        for (float &v : values)
            v /= static_cast<float>(att.heads);
    const auto [lo, hi] = std::minmax_element(values.begin(), values.end());
    QImage image(ins.gridWidth, ins.gridHeight, QImage::Format_RGB32);
    for (int p = 0; p < patches; ++p) {
        const float t = *hi > *lo ? (values[static_cast<size_t>(p)] - *lo) / (*hi - *lo) : 0.0f;
        image.setPixel(p % ins.gridWidth, p / ins.gridWidth, wsss::ui::colorMapColor(attention()->colorMap(), t));
    }
    return image;
}

void TestPanels::attentionGridShape()
{
    const auto &ins = inspection();
    m_window->canvas()->setQueryToken(centreToken());
    const int layers = static_cast<int>(ins.attention.size());
    const int heads = ins.attention.front().heads;
    QCOMPARE(attention()->gridRows(), layers);
    QCOMPARE(attention()->gridColumns(), heads + 1); // the mean, then every head
    for (int l = 0; l < layers; ++l)
        for (int c = 0; c <= heads; ++c) {
            QCOMPARE(attention()->gridImage(l, c).size(), QSize(ins.gridWidth, ins.gridHeight));
            const QRect cell = attention()->gridCellRect(l, c);
            const QRect view = attention()->gridView()->rect();
            QVERIFY2(!cell.isEmpty() && view.contains(cell),
                     qPrintable(QStringLiteral("map (%1, %2) at %3,%4 %5x%6 must lie inside the view, %7x%8")
                                    .arg(l).arg(c).arg(cell.x()).arg(cell.y()).arg(cell.width()).arg(cell.height())
                                    .arg(view.width()).arg(view.height())));
        }
    // Column 0 is the mean over heads, column h + 1 head h.
    QCOMPARE(attention()->gridImage(0, 0), expectedCell(centreToken(), 0, -1));
    QCOMPARE(attention()->gridImage(layers - 1, heads), expectedCell(centreToken(), layers - 1, heads - 1));
    QVERIFY(attention()->gridImage(0, 1) != attention()->gridImage(0, 2));
}

void TestPanels::attentionGridFollowsQuery()
{
    const auto &ins = inspection();
    const int first = ins.prefixTokens + 1 * ins.gridWidth + 1;
    const int second = ins.prefixTokens + (ins.gridHeight - 2) * ins.gridWidth + ins.gridWidth - 2;
    m_window->canvas()->setQueryToken(first);
    const std::vector<QImage> before = gridImages();
    m_window->canvas()->setQueryToken(second);
    const std::vector<QImage> after = gridImages();
    QCOMPARE(after.size(), before.size());
    int changed = 0;
    for (size_t i = 0; i < before.size(); ++i)
        changed += before[i] != after[i];
    QVERIFY2(changed > static_cast<int>(before.size()) / 2,
             qPrintable(QStringLiteral("%1 of %2 maps changed with the query").arg(changed).arg(before.size())));
    QCOMPARE(attention()->gridImage(1, 2), expectedCell(second, 1, 1));
}

void TestPanels::classTokenToggle()
{
    m_window->canvas()->setQueryToken(centreToken());
    const std::vector<QImage> query = gridImages();
    auto *toggle = attention()->findChild<QCheckBox *>(QStringLiteral("classTokenCheck"));
    QVERIFY(toggle);
    toggle->click();
    QVERIFY(attention()->showClassToken());
    const std::vector<QImage> cls = gridImages();
    QVERIFY(cls != query);
    QCOMPARE(attention()->gridImage(0, 0), expectedCell(0, 0, -1));
    // The class token does not move with the query patch.
    m_window->canvas()->setQueryToken(centreToken() + 1);
    QCOMPARE(gridImages(), cls);
    toggle->click();
    QCOMPARE(attention()->gridImage(0, 0), expectedCell(centreToken() + 1, 0, -1));
}

void TestPanels::clickingCellEnlargesIt_data()
{
    QTest::addColumn<int>("layer");
    QTest::addColumn<int>("column");
    QTest::newRow("first block, mean") << 0 << 0;
    QTest::newRow("second block, head 2") << 1 << 2;
    QTest::newRow("last block, last head") << -1 << -1;
}

void TestPanels::clickingCellEnlargesIt()
{
    QFETCH(int, layer);
    QFETCH(int, column);
    if (layer < 0)
        layer = attention()->gridRows() - 1;
    if (column < 0)
        column = attention()->gridColumns() - 1;
    m_window->canvas()->setQueryToken(centreToken());
    // Start elsewhere, so a click that does nothing cannot pass.
    attention()->setLayer(layer == 0 ? 1 : 0);
    attention()->setHead(column == 1 ? 1 : 0);
    const QRect cell = attention()->gridCellRect(layer, column);
    QTest::mouseClick(attention()->gridView(), Qt::LeftButton, Qt::NoModifier, cell.center());
    QCOMPARE(attention()->layer(), layer);
    QCOMPARE(attention()->head(), column - 1);
    QCOMPARE(attention()->attentionImage(), attention()->gridImage(layer, column));
}

void TestPanels::arrowKeysMoveQuery_data()
{
    QTest::addColumn<bool>("fromGrid"); // focus on the attention grid instead of the canvas
    QTest::addColumn<int>("key");
    QTest::addColumn<int>("dcol");
    QTest::addColumn<int>("drow");
    for (bool grid : {false, true}) {
        const char *where = grid ? "grid" : "canvas";
        QTest::addRow("%s, right", where) << grid << int(Qt::Key_Right) << 1 << 0;
        QTest::addRow("%s, left", where) << grid << int(Qt::Key_Left) << -1 << 0;
        QTest::addRow("%s, down", where) << grid << int(Qt::Key_Down) << 0 << 1;
        QTest::addRow("%s, up", where) << grid << int(Qt::Key_Up) << 0 << -1;
    }
}

void TestPanels::arrowKeysMoveQuery()
{
    QFETCH(bool, fromGrid);
    QFETCH(int, key);
    QFETCH(int, dcol);
    QFETCH(int, drow);
    const auto &ins = inspection();
    m_window->canvas()->setQueryToken(centreToken());
    const std::vector<QImage> before = gridImages();
    QWidget *target = fromGrid ? attention()->gridView() : static_cast<QWidget *>(m_window->canvas());
    target->setFocus();
    QTest::keyClick(target, static_cast<Qt::Key>(key));
    const int expected = centreToken() + drow * ins.gridWidth + dcol;
    QCOMPARE(m_window->canvas()->queryToken(), expected);
    QCOMPARE(attention()->queryToken(), expected);
    QVERIFY(gridImages() != before);
}

void TestPanels::sliderChangesMaskLive()
{
    auto *slider = m_window->thresholdsDock()->findChild<QSlider *>(QStringLiteral("bgThresholdRuleSlider"));
    QVERIFY(slider);
    CanvasWidget *canvas = m_window->canvas();
    // Dragging: the slider is down and reports every step (tracking), the mask follows at once.
    slider->setSliderDown(true);
    slider->setSliderPosition(slider->minimum());
    QCOMPARE(canvas->rule().bgThreshold, 0.0f);
    const QImage low = canvas->maskImage();
    slider->setSliderPosition(slider->maximum());
    QCOMPARE(canvas->rule().bgThreshold, 1.0f);
    const QImage high = canvas->maskImage();
    slider->setSliderDown(false);
    QVERIFY(!low.isNull() && low.size() == QSize(inspection().imageWidth, inspection().imageHeight));
    QVERIFY2(low != high, "moving the background threshold must change the pseudo-mask");
    // The mask is the rule applied to the cached maps: check a pixel count against the data.
    const auto reference = inspection().pseudoMask(canvas->mapKind().toStdString(), 0.0f);
    int foreground = 0, drawn = 0;
    for (size_t i = 0; i < reference.size(); ++i) {
        foreground += reference[i] != 0;
        drawn += qAlpha(low.pixel(static_cast<int>(i % inspection().imageWidth), static_cast<int>(i / inspection().imageWidth))) != 0;
    }
    QVERIFY(foreground > 0);
    QCOMPARE(drawn, foreground);
    slider->setValue(45);
}

void TestPanels::toolbarAndDockShareTheRule()
{
    auto *toolbarSlider = m_window->findChild<QSlider *>(QStringLiteral("bgThresholdSlider"));
    auto *dockSlider = m_window->thresholdsDock()->findChild<QSlider *>(QStringLiteral("bgThresholdRuleSlider"));
    auto *dockSpin = m_window->thresholdsDock()->findChild<QDoubleSpinBox *>(QStringLiteral("bgThresholdRuleSpin"));
    QVERIFY(toolbarSlider && dockSlider && dockSpin && toolbarSlider != dockSlider);
    QVERIFY(!m_window->thresholdsDock()->isAncestorOf(toolbarSlider));

    toolbarSlider->setValue(30);
    QCOMPARE(dockSlider->value(), 30);
    QCOMPARE(dockSpin->value(), 0.30);
    QCOMPARE(m_window->rule().bgThreshold, 0.30f);
    QCOMPARE(m_window->canvas()->rule().bgThreshold, 0.30f);

    dockSpin->setValue(0.62);
    QCOMPARE(toolbarSlider->value(), 62);
    QCOMPARE(dockSlider->value(), 62);
    QCOMPARE(m_window->canvas()->rule().bgThreshold, 0.62f);
}

void TestPanels::resetButtons()
{
    auto *paper = m_window->thresholdsDock()->findChild<QPushButton *>(QStringLiteral("resetPaperButton"));
    auto *best = m_window->thresholdsDock()->findChild<QPushButton *>(QStringLiteral("resetCheckpointButton"));
    QVERIFY(paper && best);
    m_window->thresholdsDock()->findChild<QDoubleSpinBox *>(QStringLiteral("bgThresholdRuleSpin"))->setValue(0.9);
    QCOMPARE(m_window->canvas()->rule().bgThreshold, 0.9f);
    paper->click();
    QCOMPARE(m_window->canvas()->rule().bgThreshold, 0.45f);

    // Training validated on the val split, so the checkpoint records its best threshold.
    QVERIFY(m_trained.metrics.count("best_bg_threshold"));
    const double expected = m_trained.metrics.at("best_bg_threshold");
    QVERIFY(best->isEnabled());
    m_window->setBgThreshold(expected > 0.5 ? 0.1 : 0.9);
    best->click();
    QCOMPARE(m_window->canvas()->rule().bgThreshold, static_cast<float>(expected));
    paper->click();
}

void TestPanels::maskFollowsEveryRuleChangeAt512()
{
    // A 512×512 inspection with three labelled classes (a typical VOC image), smooth random maps.
    auto ins = std::make_shared<wsss::training::Inspection>();
    ins->imageId = "synthetic";
    ins->imageWidth = ins->imageHeight = 512;
    ins->rgb.assign(512 * 512 * 3, 128);
    ins->gridWidth = ins->gridHeight = 32;
    ins->patchSize = 16;
    ins->classNames = {"background", "a", "b", "c"};
    ins->imageLabels = {1, 2, 3};
    std::mt19937 rng(7);
    std::uniform_real_distribution<float> phase(0.0f, 6.28f);
    for (int c = 1; c <= 3; ++c) {
        wsss::training::ClassMap map;
        map.kind = "cam";
        map.classIndex = c;
        map.values.resize(512 * 512);
        const float px = phase(rng), py = phase(rng);
        for (int y = 0; y < 512; ++y)
            for (int x = 0; x < 512; ++x)
                map.values[static_cast<size_t>(y) * 512 + x] =
                    0.5f + 0.5f * std::sin(x / (20.0f + 9 * c) + px) * std::cos(y / (25.0f + 7 * c) + py);
        ins->maps.push_back(std::move(map));
    }
    CanvasWidget canvas;
    canvas.resize(640, 640);
    canvas.show();
    QVERIFY(QTest::qWaitForWindowExposed(&canvas));
    canvas.setInspection(ins);
    canvas.setMapClass(1);
    canvas.setShowMask(true);
    canvas.repaint();

    // Each step as a slider drag makes it: the rule changes, the mask is rebuilt, the widget
    // repaints synchronously, and the mask follows. (Its speed is a benchmark figure, not a test.)
    QImage previous = canvas.maskImage();
    int changes = 0;
    for (int i = 0; i <= 40; ++i) {
        wsss::vision::PseudoLabelRule rule;
        rule.bgThreshold = 0.2f + 0.6f * i / 40.0f;
        canvas.setRule(rule);
        canvas.repaint();
        changes += canvas.maskImage() != previous;
        previous = canvas.maskImage();
    }
    QVERIFY2(changes > 30, "the mask must actually change between steps");
}

void TestPanels::evaluationCancel()
{
    QSignalSpy ended(m_window.get(), &MainWindow::evaluationEnded);
    const quint64 job = m_window->evaluateSplit();
    QVERIFY(job != 0);
    QVERIFY(m_window->isEvaluating());
    auto *cancel = m_window->findChild<QToolButton *>(QStringLiteral("cancelJobButton"));
    QVERIFY(cancel && cancel->isVisible());
    cancel->click();
    QVERIFY(ended.wait(60000));
    QCOMPARE(ended.first().at(0).value<quint64>(), job);
    QCOMPARE(ended.first().at(1).toBool(), false);
    QVERIFY(!m_window->isEvaluating());
    QVERIFY(!cancel->isVisible());
    QVERIFY(!m_window->evaluationDock()->result());
}

void TestPanels::evaluationSweep()
{
    m_window->setBgThreshold(0.45);
    QSignalSpy ended(m_window.get(), &MainWindow::evaluationEnded);
    QSignalSpy progress(m_window->bridge(), &wsss::ui::EngineBridge::jobProgress);
    const quint64 job = m_window->evaluateSplit();
    QVERIFY(job != 0);
    QVERIFY(ended.wait(120000));
    QCOMPARE(ended.first().at(1).toBool(), true);

    const auto val = wsss::vision::loadVocDataset(m_data.toStdString(), "val");
    const int withMasks = static_cast<int>(std::count_if(val.items.begin(), val.items.end(),
                                                         [](const auto &item) { return !item.maskPath.empty(); }));
    QCOMPARE(withMasks, 3);
    QVERIFY(progress.count() >= withMasks); // one per image at least

    const auto result = m_window->evaluationDock()->result();
    QVERIFY(result);
    QCOMPARE(static_cast<int>(result->thresholds.size()), 100); // t = 0, 0.01, …, 0.99
    QCOMPARE(result->sweepMiou.size(), result->thresholds.size());
    QCOMPARE(m_window->evaluationDock()->sweepPointCount(), 100);
    // The best is the first maximum of the curve, and that is the point marked.
    const auto top = std::max_element(result->sweepMiou.begin(), result->sweepMiou.end());
    QCOMPARE(result->bestIndex, static_cast<int>(top - result->sweepMiou.begin()));
    QCOMPARE(m_window->evaluationDock()->markedBestThreshold(), result->thresholds[static_cast<size_t>(result->bestIndex)]);
    // At the evaluated threshold the split's mIoU is the sweep's value there.
    QCOMPARE(result->threshold, 0.45f);
    QVERIFY(std::abs(result->miou - result->sweepMiou[45]) < 1e-9);

    const int classes = static_cast<int>(inspection().classNames.size());
    QCOMPARE(static_cast<int>(result->iou.size()), classes);
    QCOMPARE(static_cast<int>(result->fpr.size()), classes);
    QCOMPARE(static_cast<int>(result->fnr.size()), classes);
    const int present = static_cast<int>(std::count_if(result->iou.begin(), result->iou.end(),
                                                       [](double v) { return !std::isnan(v); }));
    QVERIFY(present >= 2); // background and at least one object
    QCOMPARE(m_window->evaluationDock()->classBarCount(), 3 * present);

    QCOMPARE(static_cast<int>(result->images.size()), withMasks);
    QTableWidget *table = m_window->evaluationDock()->imageTable();
    QCOMPARE(table->rowCount(), withMasks);
    for (int row = 1; row < table->rowCount(); ++row) // worst first
        QVERIFY(table->item(row - 1, 1)->data(Qt::UserRole).toDouble() <= table->item(row, 1)->data(Qt::UserRole).toDouble());

    // A row click opens that image.
    int row = 0;
    while (row < table->rowCount() && table->item(row, 0)->text() == m_window->currentImageId())
        ++row;
    QVERIFY(row < table->rowCount());
    const QString id = table->item(row, 0)->text();
    QSignalSpy shown(m_window.get(), &MainWindow::inspectionShown);
    const QRect cell = table->visualItemRect(table->item(row, 0));
    QTest::mouseClick(table->viewport(), Qt::LeftButton, Qt::NoModifier, cell.center());
    QCOMPARE(m_window->currentImageId(), id);
    QVERIFY(shown.wait(60000));
    QCOMPARE(shown.last().first().toString(), id);

    // "Use best threshold" moves the one rule.
    auto *useBest = m_window->evaluationDock()->findChild<QPushButton *>(QStringLiteral("useBestButton"));
    QVERIFY(useBest && useBest->isEnabled());
    useBest->click();
    QCOMPARE(m_window->rule().bgThreshold, static_cast<float>(result->thresholds[static_cast<size_t>(result->bestIndex)]));
    m_window->setBgThreshold(0.45);
}

void TestPanels::statePersists()
{
    QSize size(1111, 877); // room for both toolbar rows and the docks' minimum sizes
    {
        MainWindow first;
        first.show();
        QVERIFY(QTest::qWaitForWindowExposed(&first));
        first.resize(size);
        QTRY_COMPARE(first.size(), size);
        first.addDockWidget(Qt::LeftDockWidgetArea, first.attentionDock()); // moved from the right
        first.thresholdsDock()->hide();
        first.evaluationDock()->show();
        auto *combo = first.findChild<QComboBox *>(QStringLiteral("colorMapCombo"));
        QVERIFY(combo);
        combo->setCurrentIndex(combo->findText(QStringLiteral("viridis")));
        QCOMPARE(first.colorMap(), wsss::ui::ColorMap::Viridis);
        QVERIFY(first.openDataset(m_data, QStringLiteral("val")));
        QVERIFY(first.close());
    }
    MainWindow second;
    second.show();
    QVERIFY(QTest::qWaitForWindowExposed(&second));
    QCOMPARE(second.size(), size);
    QCOMPARE(second.dockWidgetArea(second.attentionDock()), Qt::LeftDockWidgetArea);
    QVERIFY(second.thresholdsDock()->isHidden());
    QVERIFY(!second.evaluationDock()->isHidden());
    QCOMPARE(second.colorMap(), wsss::ui::ColorMap::Viridis);
    QCOMPARE(second.findChild<QComboBox *>(QStringLiteral("colorMapCombo"))->currentText(), QStringLiteral("viridis"));
    QCOMPARE(second.canvas()->colorMap(), wsss::ui::ColorMap::Viridis);
    QCOMPARE(second.attentionDock()->colorMap(), wsss::ui::ColorMap::Viridis);
    const MainWindow::Session session = MainWindow::lastSession();
    QCOMPARE(session.data, m_data);
    QCOMPARE(session.split, QStringLiteral("val"));
    // The settings live in the test's own folder, not the user's.
    QVERIFY(QSettings().fileName().startsWith(m_dir.path()));
}

QTEST_MAIN(TestPanels)
#include "test_panels.moc"
