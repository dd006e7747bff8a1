// The studio end to end: a tiny demo dataset and a two-step checkpoint, opened in a MainWindow;
// mouse and keyboard input on the canvas must move the query patch, the attention view must
// follow it, and the background threshold must change the drawn pseudo-mask.
#include "support/tiny_demo_run.h"
#include "ui/canvas/canvas_widget.h"
#include "ui/docks/attention_dock.h"
#include "ui/docks/dataset_dock.h"
#include "ui/main_window.h"
#include "ui/models/image_list_model.h"
#include "vision/io/voc_reader.h"

#include <QAbstractItemModelTester>
#include <QCheckBox>
#include <QDoubleSpinBox>
#include <QLineEdit>
#include <QListView>
#include <QSignalSpy>
#include <QSlider>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QTest>
#include <QWheelEvent>

#include <cmath>
#include <memory>

using wsss::ui::CanvasWidget;
using wsss::ui::MainWindow;

class TestStudio : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();
    void init();

    void imageListModel();
    void datasetFilter();
    void clickSelectsPatch_data();
    void clickSelectsPatch();
    void clickChangesAttention();
    void thresholdChangesMask();
    void arrowKeyMovesQuery_data();
    void arrowKeyMovesQuery();

private:
    const wsss::training::Inspection &inspection() const { return *m_window->canvas()->inspection(); }
    // The token of the patch holding image pixel p, computed from the grid alone (not through
    // Inspection::patchTokenAt, which the canvas itself uses).
    int expectedToken(QPointF p) const;
    // A pixel centre at a fraction of the image's width and height.
    QPointF pixelAt(double fx, double fy) const;
    void wheel(int notches, QPoint at);
    void clickPixel(QPointF pixel);

    QString m_data;
    QTemporaryDir m_dir;
    std::unique_ptr<MainWindow> m_window;
};

void TestStudio::initTestCase()
{
    QStandardPaths::setTestModeEnabled(true); // keep QSettings away from the user's own
    QVERIFY(m_dir.isValid());
    const auto run = wsss::test::makeTinyDemoRun(m_dir.path().toStdString(), 2);
    const QString data = QString::fromStdString(run.data);
    m_data = data;
    const auto &result = run.trained;

    m_window = std::make_unique<MainWindow>();
    m_window->resize(1300, 850);
    m_window->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));

    QSignalSpy shown(m_window.get(), &MainWindow::inspectionShown);
    QVERIFY2(m_window->openDataset(data, QStringLiteral("train")), qPrintable(m_window->lastError()));
    m_window->openCheckpoint(QString::fromStdString(result.checkpointPath), QStringLiteral("cpu"));
    QVERIFY2(shown.wait(60000), qPrintable(m_window->lastError()));

    QVERIFY(m_window->canvas()->inspection());
    const auto &ins = inspection();
    QCOMPARE(shown.first().first().toString(), QString::fromStdString(ins.imageId));
    QVERIFY(ins.gridWidth > 1 && ins.gridHeight > 1);
    QVERIFY(!ins.attention.empty());
    QVERIFY(!ins.imageLabels.empty());
}

void TestStudio::cleanupTestCase()
{
    m_window.reset(); // joins the engine's worker before the temporary folder goes
}

void TestStudio::init()
{
    m_window->canvas()->fitToWindow();
    m_window->canvas()->setFocus();
}

void TestStudio::imageListModel()
{
    const auto dataset = wsss::vision::loadVocDataset(m_data.toStdString(), "train");
    QCOMPARE(static_cast<int>(dataset.items.size()), 4);
    wsss::ui::ImageListModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setDataset(dataset);
    QCOMPARE(model.rowCount(), 4);
    for (int row = 0; row < model.rowCount(); ++row) {
        const auto &item = dataset.items[static_cast<size_t>(row)];
        const QModelIndex index = model.index(row);
        QCOMPARE(index.data().toString(), QString::fromStdString(item.id));
        QCOMPARE(index.data(wsss::ui::ImageListModel::ImagePathRole).toString(), QString::fromStdString(item.imagePath));
        QCOMPARE(index.data(wsss::ui::ImageListModel::LabelsRole).value<QVector<int>>(),
                 QVector<int>(item.labels.begin(), item.labels.end()));
        const QString firstName = QString::fromStdString(dataset.labelMap.classes[static_cast<size_t>(item.labels.front())].name);
        QVERIFY(index.data(Qt::ToolTipRole).toString().contains(firstName));
    }
    QCOMPARE(model.rowOf(QString::fromStdString(dataset.items[2].id)), 2);
    QCOMPARE(model.rowOf(QStringLiteral("no such id")), -1);
}

void TestStudio::datasetFilter()
{
    wsss::ui::DatasetDock *dock = m_window->datasetDock();
    auto *search = dock->findChild<QLineEdit *>();
    auto *list = dock->findChild<QListView *>();
    QVERIFY(search && list);
    const QString shown = m_window->currentImageId();
    QCOMPARE(dock->currentId(), shown);
    QSignalSpy selected(dock, &wsss::ui::DatasetDock::imageSelected);
    const QString id = dock->model()->index(2).data().toString();
    QVERIFY(id != shown);
    search->setText(id.right(3));
    QCOMPARE(list->model()->rowCount(), 1);
    QCOMPARE(list->model()->index(0, 0).data().toString(), id);
    search->setText(QStringLiteral("no such id"));
    QCOMPARE(list->model()->rowCount(), 0);
    search->clear();
    QCOMPARE(list->model()->rowCount(), dock->model()->rowCount());
    // Filtering never asks for another inspection, and the shown image is current again.
    QCOMPARE(selected.count(), 0);
    QCOMPARE(list->currentIndex().data().toString(), shown);
}

int TestStudio::expectedToken(QPointF p) const
{
    const auto &ins = inspection();
    const int col = static_cast<int>(std::floor(p.x() * ins.gridWidth / ins.imageWidth));
    const int row = static_cast<int>(std::floor(p.y() * ins.gridHeight / ins.imageHeight));
    return ins.prefixTokens + row * ins.gridWidth + col;
}

QPointF TestStudio::pixelAt(double fx, double fy) const
{
    const auto &ins = inspection();
    return QPointF(std::floor(fx * ins.imageWidth) + 0.5, std::floor(fy * ins.imageHeight) + 0.5);
}

void TestStudio::wheel(int notches, QPoint at)
{
    CanvasWidget *canvas = m_window->canvas();
    const int step = notches > 0 ? 120 : -120;
    for (int i = 0; i < std::abs(notches); ++i) {
        QWheelEvent event(at, canvas->mapToGlobal(at), QPoint(), QPoint(0, step), Qt::NoButton,
                          Qt::NoModifier, Qt::NoScrollPhase, false);
        QApplication::sendEvent(canvas, &event);
    }
}

void TestStudio::clickPixel(QPointF pixel)
{
    CanvasWidget *canvas = m_window->canvas();
    const QPoint pos = canvas->imageToWidget(pixel).toPoint();
    QVERIFY2(canvas->rect().contains(pos), "the pixel must be on screen for a click");
    QTest::mouseClick(canvas, Qt::LeftButton, Qt::NoModifier, pos);
}

void TestStudio::clickSelectsPatch_data()
{
    QTest::addColumn<int>("zoomNotches"); // wheel notches near the canvas centre (+ = in)
    QTest::addColumn<QPoint>("pan");      // right-button drag, widget pixels
    QTest::addColumn<QPointF>("where");   // the pixel, as fractions of the image size

    QTest::newRow("fit, top-left") << 0 << QPoint() << QPointF(0.02, 0.03);
    QTest::newRow("fit, centre") << 0 << QPoint() << QPointF(0.55, 0.45);
    QTest::newRow("fit, bottom-right") << 0 << QPoint() << QPointF(0.98, 0.97);
    QTest::newRow("zoomed in") << 3 << QPoint() << QPointF(0.40, 0.60);
    QTest::newRow("zoomed in, panned") << 2 << QPoint(-90, 60) << QPointF(0.62, 0.30);
    QTest::newRow("zoomed out, panned") << -3 << QPoint(70, -50) << QPointF(0.15, 0.85);
}

void TestStudio::clickSelectsPatch()
{
    QFETCH(int, zoomNotches);
    QFETCH(QPoint, pan);
    QFETCH(QPointF, where);
    CanvasWidget *canvas = m_window->canvas();

    const double fitZoom = canvas->zoom();
    const QPoint wheelAt = canvas->rect().center() + QPoint(37, -23);
    const QPointF anchor = canvas->widgetToImage(wheelAt);
    wheel(zoomNotches, wheelAt);
    // The image point under the cursor stays under it.
    const QPointF anchorAfter = canvas->widgetToImage(wheelAt);
    QVERIFY(std::abs(anchorAfter.x() - anchor.x()) < 1e-6 && std::abs(anchorAfter.y() - anchor.y()) < 1e-6);
    // One notch is ×1.2 (the canvas's wheel step).
    const double expectedZoom = fitZoom * std::pow(1.2, zoomNotches);
    QVERIFY2(std::abs(canvas->zoom() / expectedZoom - 1.0) < 1e-3,
             qPrintable(QStringLiteral("zoom %1, expected %2").arg(canvas->zoom()).arg(expectedZoom)));

    if (!pan.isNull()) {
        const QPointF originBefore = canvas->imageToWidget(QPointF(0, 0));
        const QPoint start = canvas->rect().center();
        QTest::mousePress(canvas, Qt::RightButton, Qt::NoModifier, start);
        QTest::mouseMove(canvas, start + pan);
        QTest::mouseRelease(canvas, Qt::RightButton, Qt::NoModifier, start + pan);
        const QPointF moved = canvas->imageToWidget(QPointF(0, 0)) - originBefore;
        QCOMPARE(moved.toPoint(), pan);
    }

    const QPointF pixel = pixelAt(where.x(), where.y());
    const QPointF roundTrip = canvas->widgetToImage(canvas->imageToWidget(pixel));
    QVERIFY(std::abs(roundTrip.x() - pixel.x()) < 1e-6 && std::abs(roundTrip.y() - pixel.y()) < 1e-6);

    const int expected = expectedToken(pixel);
    // Start elsewhere, so a click that does nothing cannot pass.
    const int elsewhere = expected == inspection().prefixTokens ? expected + 1 : inspection().prefixTokens;
    canvas->setQueryToken(elsewhere);
    QCOMPARE(canvas->queryToken(), elsewhere);

    QSignalSpy changed(canvas, &CanvasWidget::queryChanged);
    clickPixel(pixel);
    QCOMPARE(canvas->queryToken(), expected);
    QCOMPARE(changed.count(), 1);
    QCOMPARE(changed.first().first().toInt(), expected);
    QCOMPARE(m_window->attentionDock()->queryToken(), expected);
}

void TestStudio::clickChangesAttention()
{
    wsss::ui::AttentionDock *dock = m_window->attentionDock();
    const auto &ins = inspection();
    QCOMPARE(dock->layer(), static_cast<int>(ins.attention.size()) - 1); // the last block by default
    QCOMPARE(dock->head(), -1);                                         // mean over heads

    const QPointF first = pixelAt(0.1, 0.1), second = pixelAt(0.8, 0.7);
    QVERIFY(expectedToken(first) != expectedToken(second));

    clickPixel(first);
    QCOMPARE(m_window->canvas()->queryToken(), expectedToken(first));
    const QImage imageBefore = dock->attentionImage();
    const std::vector<float> rowBefore = dock->currentRow();
    QCOMPARE(imageBefore.size(), QSize(ins.gridWidth, ins.gridHeight));
    QCOMPARE(static_cast<int>(rowBefore.size()), ins.gridWidth * ins.gridHeight);

    // The row is the last block's head-mean attention of the query, over the patch tokens.
    const std::vector<float> reference = ins.attention.back().row(expectedToken(first));
    for (size_t i = 0; i < rowBefore.size(); ++i)
        QCOMPARE(rowBefore[i], reference[i + static_cast<size_t>(ins.prefixTokens)]);

    clickPixel(second);
    QCOMPARE(m_window->canvas()->queryToken(), expectedToken(second));
    QVERIFY(dock->currentRow() != rowBefore);
    QVERIFY(dock->attentionImage() != imageBefore);
}

void TestStudio::thresholdChangesMask()
{
    auto *showMask = m_window->findChild<QCheckBox *>(QStringLiteral("showMaskCheck"));
    auto *slider = m_window->findChild<QSlider *>(QStringLiteral("bgThresholdSlider"));
    auto *spin = m_window->findChild<QDoubleSpinBox *>(QStringLiteral("bgThresholdSpin"));
    QVERIFY(showMask && slider && spin);
    showMask->setChecked(true);

    // Compare only the image below the caption and legend (their text names the threshold).
    CanvasWidget *canvas = m_window->canvas();
    const auto &ins = inspection();
    QRect area = QRectF(canvas->imageToWidget(QPointF(0, 0)),
                        canvas->imageToWidget(QPointF(ins.imageWidth, ins.imageHeight)))
                     .toAlignedRect()
                 & canvas->rect();
    area.setTop(std::max(area.top(), 80));
    QVERIFY(area.height() > canvas->height() / 2);
    auto drawnImage = [canvas, area] { return canvas->grab().toImage().copy(area); };

    slider->setValue(slider->minimum()); // every labelled pixel with any response is foreground
    QCOMPARE(spin->value(), 0.0);
    const QImage low = drawnImage();
    slider->setValue(slider->maximum()); // nothing beats the threshold: all background
    QCOMPARE(spin->value(), 1.0);
    const QImage high = drawnImage();
    QVERIFY2(low != high, "moving the background threshold must change the drawn pseudo-mask");

    slider->setValue(slider->minimum());
    QCOMPARE(drawnImage(), low); // live, and only the threshold mattered
    spin->setValue(0.45);
    QCOMPARE(slider->value(), 45);
    showMask->setChecked(false);
}

void TestStudio::arrowKeyMovesQuery_data()
{
    QTest::addColumn<int>("key");
    QTest::addColumn<int>("dcol");
    QTest::addColumn<int>("drow");
    QTest::newRow("right") << int(Qt::Key_Right) << 1 << 0;
    QTest::newRow("left") << int(Qt::Key_Left) << -1 << 0;
    QTest::newRow("down") << int(Qt::Key_Down) << 0 << 1;
    QTest::newRow("up") << int(Qt::Key_Up) << 0 << -1;
}

void TestStudio::arrowKeyMovesQuery()
{
    QFETCH(int, key);
    QFETCH(int, dcol);
    QFETCH(int, drow);
    CanvasWidget *canvas = m_window->canvas();
    const auto &ins = inspection();
    const int row = ins.gridHeight / 2, col = ins.gridWidth / 2;
    canvas->setQueryToken(ins.prefixTokens + row * ins.gridWidth + col);

    QTest::keyClick(canvas, static_cast<Qt::Key>(key));
    const int expected = ins.prefixTokens + (row + drow) * ins.gridWidth + (col + dcol);
    QCOMPARE(canvas->queryToken(), expected);
    QCOMPARE(m_window->attentionDock()->queryToken(), expected);
}

QTEST_MAIN(TestStudio)
#include "test_studio.moc"
