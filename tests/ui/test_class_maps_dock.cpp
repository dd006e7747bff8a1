// The class maps dock with a real AFA checkpoint in the studio: one tile per class the image is
// labelled with, for the canvas's map kind, in the canvas's colour map; a click shows that class
// on the canvas, and a change of kind changes every tile.
#include "support/tiny_demo_run.h"
#include "ui/canvas/canvas_widget.h"
#include "ui/canvas/color_map.h"
#include "ui/docks/class_maps_dock.h"
#include "ui/main_window.h"
#include "vision/io/voc_reader.h"

#include <QComboBox>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardPaths>
#include <QTemporaryDir>
#include <QtTest>

using wsss::ui::ClassMapsDock;
using wsss::ui::MainWindow;

class TestClassMapsDock : public QObject {
    Q_OBJECT

    QTemporaryDir m_dir;
    std::unique_ptr<MainWindow> m_window;

    const wsss::training::Inspection &inspection() const { return *m_window->canvas()->inspection(); }
    ClassMapsDock *dock() const { return m_window->classMapsDock(); }

    // The tile as the test expects it: the map of `cls` through the colour map (64 px images fit a
    // tile unscaled).
    QImage expectedTile(const std::string &kind, int cls) const
    {
        const auto *map = inspection().map(kind, cls);
        const int w = inspection().imageWidth, h = inspection().imageHeight;
        QImage image(w, h, QImage::Format_RGB32);
        for (int y = 0; y < h; ++y)
            for (int x = 0; x < w; ++x)
                image.setPixel(x, y, wsss::ui::colorMapColor(m_window->colorMap(), map->values[static_cast<size_t>(y) * w + x]));
        return image;
    }

private Q_SLOTS:
    void initTestCase()
    {
        QStandardPaths::setTestModeEnabled(true);
        QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, m_dir.filePath(QStringLiteral("settings")));
        QCoreApplication::setOrganizationName(QStringLiteral("WSSS Studio Tests"));
        QCoreApplication::setApplicationName(QStringLiteral("test_class_maps_dock"));
        QSettings().clear();

        const auto run = wsss::test::makeTinyDemoRun(m_dir.path().toStdString(), 6, "afa");
        // An image with at least two labelled classes, so the strip has something to compare.
        std::string chosen;
        for (const auto &item : wsss::vision::loadVocDataset(run.data, "val").items)
            if (item.labels.size() >= 2 && chosen.empty())
                chosen = item.id;
        QVERIFY2(!chosen.empty(), "the demo split has no image with two classes");

        m_window = std::make_unique<MainWindow>();
        m_window->resize(1400, 900);
        m_window->show();
        QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
        QVERIFY(m_window->openDataset(QString::fromStdString(run.data), QStringLiteral("val")));
        QVERIFY(m_window->selectImage(QString::fromStdString(chosen)));
        QSignalSpy shown(m_window.get(), &MainWindow::inspectionShown);
        m_window->openCheckpoint(QString::fromStdString(run.trained.checkpointPath), QStringLiteral("cpu"));
        QVERIFY2(shown.wait(60000), qPrintable(m_window->lastError()));
        QCOMPARE(shown.front().front().toString(), QString::fromStdString(chosen));
        dock()->show();
        dock()->raise();
    }

    void cleanupTestCase() { m_window.reset(); }

    void oneTilePerLabelledClass()
    {
        // A checkpoint opens on its method's own map (AFA's propagated "aff"), in every view.
        const std::string kind = m_window->canvas()->mapKind().toStdString();
        QCOMPARE(kind, inspection().primaryKind);
        QCOMPARE(kind, std::string("aff"));
        QCOMPARE(dock()->kind().toStdString(), kind);
        QVERIFY(inspection().imageLabels.size() >= 2);
        QCOMPARE(dock()->tileCount(), static_cast<int>(inspection().imageLabels.size()));
        for (int i = 0; i < dock()->tileCount(); ++i) {
            QCOMPARE(dock()->tileClass(i), inspection().imageLabels[static_cast<size_t>(i)]);
            QCOMPARE(dock()->tileImage(i), expectedTile(kind, dock()->tileClass(i)));
        }
    }

    void clickSelectsTheClassOnTheCanvas()
    {
        for (int i = dock()->tileCount() - 1; i >= 0; --i) {
            QWidget *tile = dock()->tile(i);
            QTRY_VERIFY(tile->isVisible());
            QTest::mouseClick(tile, Qt::LeftButton, {}, tile->rect().center());
            QCOMPARE(m_window->canvas()->mapClass(), dock()->tileClass(i));
            QCOMPARE(m_window->findChild<QComboBox *>(QStringLiteral("classCombo"))->currentData().toInt(),
                     dock()->tileClass(i));
        }
    }

    void followsTheMapKindAndColourMap()
    {
        auto *kinds = m_window->findChild<QComboBox *>(QStringLiteral("kindCombo"));
        QVERIFY(kinds->count() > 1); // AFA: the CAM and its refined maps
        const QImage before = dock()->tileImage(0);
        const int other = kinds->currentIndex() == 0 ? 1 : 0;
        kinds->setCurrentIndex(other);
        const std::string kind = kinds->itemText(other).toStdString();
        QCOMPARE(dock()->kind().toStdString(), kind);
        QCOMPARE(dock()->tileImage(0), expectedTile(kind, dock()->tileClass(0)));
        QVERIFY(dock()->tileImage(0) != before);

        m_window->setColorMap(wsss::ui::ColorMap::Viridis);
        QCOMPARE(dock()->tileImage(0), expectedTile(kind, dock()->tileClass(0)));
    }

    // MainWindow::setMapKind (wsss-studio --map) moves the Map box, the canvas and this dock; an
    // unknown kind changes nothing.
    void setMapKindByName()
    {
        auto *kinds = m_window->findChild<QComboBox *>(QStringLiteral("kindCombo"));
        QVERIFY(m_window->setMapKind(QStringLiteral("cam")));
        QCOMPARE(kinds->currentText(), QStringLiteral("cam"));
        QCOMPARE(m_window->canvas()->mapKind(), QStringLiteral("cam"));
        QCOMPARE(dock()->kind(), QStringLiteral("cam"));
        QVERIFY(!m_window->setMapKind(QStringLiteral("no_such_map")));
        QCOMPARE(kinds->currentText(), QStringLiteral("cam"));
        QVERIFY(m_window->setMapKind(QStringLiteral("aff")));
        QCOMPARE(dock()->tileImage(0), expectedTile("aff", dock()->tileClass(0)));
    }
};

QTEST_MAIN(TestClassMapsDock)
#include "test_class_maps_dock.moc"
