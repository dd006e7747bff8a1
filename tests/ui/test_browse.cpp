// The Browse panel (DatasetDock) on a tiny demo dataset and a two-step checkpoint: label roles and
// chips, lazy thumbnails, filter by class, search by id, the sorts (IoU from a real evaluation,
// worst first) and next/previous image by keyboard in the order shown.
#include "support/tiny_demo_run.h"
#include "ui/canvas/canvas_widget.h"
#include "ui/docks/dataset_dock.h"
#include "ui/docks/evaluation_dock.h"
#include "ui/main_window.h"
#include "ui/models/image_filter_proxy.h"
#include "ui/models/image_item_delegate.h"
#include "ui/models/image_list_model.h"
#include "ui/models/thumbnail_cache.h"
#include "vision/io/voc_reader.h"

#include <QAbstractItemModelTester>
#include <QAction>
#include <QComboBox>
#include <QLineEdit>
#include <QListView>
#include <QPainter>
#include <QSettings>
#include <QSignalSpy>
#include <QStandardItemModel>
#include <QStandardPaths>
#include <QStyleOptionViewItem>
#include <QTemporaryDir>
#include <QTest>

#include <algorithm>
#include <cmath>
#include <memory>

using wsss::ui::DatasetDock;
using wsss::ui::ImageListModel;
using wsss::ui::MainWindow;
using SortKey = wsss::ui::ImageFilterProxy::SortKey;

class TestBrowse : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void cleanupTestCase();
    void init();

    void labelRoles();
    void thumbnailsLoadLazily();
    void chipsArePainted();
    void filterByClass();
    void searchById();
    void sortsWithoutScoresAreDisabled();
    void sortByIouWorstFirst();
    void keyboardFollowsFilteredOrder_data();
    void keyboardFollowsFilteredOrder();
    void typingInSearchIsText();

private:
    DatasetDock *dock() const { return m_window->datasetDock(); }
    QStringList shownIds() const; // the panel's rows, in order

    QTemporaryDir m_dir;
    QString m_data;
    wsss::vision::VocDataset m_val;
    std::unique_ptr<MainWindow> m_window;
};

void TestBrowse::initTestCase()
{
    QVERIFY(m_dir.isValid());
    QStandardPaths::setTestModeEnabled(true);
    QSettings::setPath(QSettings::NativeFormat, QSettings::UserScope, m_dir.filePath(QStringLiteral("settings")));
    QCoreApplication::setOrganizationName(QStringLiteral("WSSS Studio Tests"));
    QCoreApplication::setApplicationName(QStringLiteral("test_browse"));
    QSettings().clear();

    const auto run = wsss::test::makeTinyDemoRun(m_dir.path().toStdString(), 8);
    m_data = QString::fromStdString(run.data);
    m_val = wsss::vision::loadVocDataset(run.data, "val");
    QCOMPARE(static_cast<int>(m_val.items.size()), 8);

    m_window = std::make_unique<MainWindow>();
    m_window->resize(1300, 850);
    m_window->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_window.get()));
    QSignalSpy shown(m_window.get(), &MainWindow::inspectionShown);
    QVERIFY2(m_window->openDataset(m_data, QStringLiteral("val")), qPrintable(m_window->lastError()));
    m_window->openCheckpoint(QString::fromStdString(run.trained.checkpointPath), QStringLiteral("cpu"));
    QVERIFY2(shown.wait(60000), qPrintable(m_window->lastError()));
}

void TestBrowse::cleanupTestCase()
{
    m_window.reset(); // joins the engine's worker before the temporary folder goes
}

void TestBrowse::init()
{
    dock()->setSearchText({});
    dock()->setClassFilter(-1);
    dock()->setSortKey(SortKey::Id);
}

QStringList TestBrowse::shownIds() const
{
    QStringList ids;
    const QAbstractItemModel *model = dock()->listView()->model();
    for (int row = 0; row < model->rowCount(); ++row)
        ids << model->index(row, 0).data(ImageListModel::IdRole).toString();
    return ids;
}

void TestBrowse::labelRoles()
{
    ImageListModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setDataset(m_val);
    QCOMPARE(model.rowCount(), 8);
    for (int row = 0; row < model.rowCount(); ++row) {
        const auto &item = m_val.items[static_cast<size_t>(row)];
        const QModelIndex index = model.index(row);
        QStringList names;
        QVector<QColor> colors;
        for (int label : item.labels) {
            const auto &c = m_val.labelMap.classes[static_cast<size_t>(label)];
            names << QString::fromStdString(c.name);
            colors << QColor(c.color[0], c.color[1], c.color[2]);
        }
        QVERIFY(!names.isEmpty());
        QCOMPARE(index.data(ImageListModel::LabelNamesRole).toStringList(), names);
        QCOMPARE(index.data(ImageListModel::LabelColorsRole).value<QVector<QColor>>(), colors);
        QVERIFY(std::isnan(index.data(ImageListModel::IouRole).toDouble()));
        QVERIFY(std::isnan(index.data(ImageListModel::ConfidenceRole).toDouble()));
    }
    // Scores: the confidence is the lowest score among the image's labels.
    const auto &item = m_val.items.front();
    std::vector<float> scores(static_cast<size_t>(m_val.labelMap.foregroundCount()), 0.9f);
    scores[static_cast<size_t>(item.labels.front() - 1)] = 0.25f;
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    model.setImageScores(item.id, scores);
    QCOMPARE(changed.count(), 1);
    QCOMPARE(model.index(0).data(ImageListModel::ConfidenceRole).toDouble(), 0.25);
    QCOMPARE(model.scoredCount(), 1);
}

void TestBrowse::thumbnailsLoadLazily()
{
    ImageListModel model;
    model.setDataset(m_val);
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    // The first ask returns at once with nothing and queues the load.
    QVERIFY(model.index(3).data(ImageListModel::ThumbnailRole).value<QImage>().isNull());
    QVERIFY(model.thumbnails()->isPending(model.index(3).data(ImageListModel::ImagePathRole).toString()));
    QVERIFY(changed.wait(30000));
    QCOMPARE(changed.first().at(0).toModelIndex().row(), 3);
    QVERIFY(changed.first().at(2).value<QList<int>>().contains(ImageListModel::ThumbnailRole));
    const QImage thumb = model.index(3).data(ImageListModel::ThumbnailRole).value<QImage>();
    QVERIFY(!thumb.isNull());
    QVERIFY(thumb.width() <= 48 && thumb.height() <= 48);
    QVERIFY(thumb.width() == 48 || thumb.height() == 48);
    // Only the row asked for was loaded.
    QVERIFY(!model.thumbnails()->isPending(model.index(4).data(ImageListModel::ImagePathRole).toString()));
}

void TestBrowse::chipsArePainted()
{
    QListView *list = dock()->listView();
    const QModelIndex index = list->model()->index(0, 0);
    const QStringList names = index.data(ImageListModel::LabelNamesRole).toStringList();
    const QVector<QColor> colors = index.data(ImageListModel::LabelColorsRole).value<QVector<QColor>>();
    QVERIFY(!names.isEmpty());

    QStyleOptionViewItem option;
    option.initFrom(list);
    option.rect = QRect(QPoint(0, 0), QSize(420, dock()->delegate()->sizeHint(option, index).height()));
    option.state &= ~QStyle::State_Selected;
    const QVector<QRect> chips = dock()->delegate()->chipRects(option, index);
    QCOMPARE(chips.size(), names.size()); // 420 px fit every label of a demo image
    // The size hint leaves room for the chips.
    const int chipsWidth = chips.back().right() - chips.front().left();
    QVERIFY(dock()->delegate()->sizeHint(option, index).width() > chipsWidth);

    QImage image(option.rect.size(), QImage::Format_ARGB32);
    image.fill(Qt::white);
    {
        QPainter painter(&image);
        dock()->delegate()->paint(&painter, option, index);
    }
    for (int i = 0; i < chips.size(); ++i) {
        const QPoint inside(chips[i].left() + 2, chips[i].center().y()); // the chip's padding
        QCOMPARE(QColor(image.pixel(inside)).rgb(), colors[i].rgb());
    }
}

void TestBrowse::filterByClass()
{
    int filtered = 0;
    for (int cls = 1; cls < m_val.labelMap.size(); ++cls) {
        const int expected = static_cast<int>(std::count_if(m_val.items.begin(), m_val.items.end(), [cls](const auto &item) {
            return std::find(item.labels.begin(), item.labels.end(), cls) != item.labels.end();
        }));
        dock()->setClassFilter(cls);
        const QAbstractItemModel *model = dock()->listView()->model();
        QCOMPARE(model->rowCount(), expected);
        for (int row = 0; row < model->rowCount(); ++row)
            QVERIFY(model->index(row, 0).data(ImageListModel::LabelsRole).value<QVector<int>>().contains(cls));
        if (expected > 0 && expected < static_cast<int>(m_val.items.size()))
            ++filtered;
    }
    QVERIFY(filtered > 0); // some class actually narrowed the list
    // The combo lists "All classes" and every foreground class.
    auto *combo = dock()->findChild<QComboBox *>(QStringLiteral("datasetClassFilter"));
    QVERIFY(combo);
    QCOMPARE(combo->count(), m_val.labelMap.size());
    dock()->setClassFilter(-1);
    QCOMPARE(dock()->listView()->model()->rowCount(), 8);
}

void TestBrowse::searchById()
{
    const QString shown = m_window->currentImageId();
    QSignalSpy selected(dock(), &DatasetDock::imageSelected);
    const QString id = QString::fromStdString(m_val.items[5].id);
    QVERIFY(id != shown);
    dock()->setSearchText(id.right(3).toUpper()); // case-insensitive
    QCOMPARE(shownIds(), QStringList{id});
    dock()->setSearchText(QStringLiteral("no such id"));
    QCOMPARE(shownIds().size(), 0);
    dock()->setSearchText({});
    QCOMPARE(shownIds().size(), 8);
    QCOMPARE(selected.count(), 0); // filtering never inspects another image
    QCOMPARE(dock()->listView()->currentIndex().data(ImageListModel::IdRole).toString(), shown);
}

void TestBrowse::sortsWithoutScoresAreDisabled()
{
    DatasetDock fresh;
    fresh.setDataset(m_val);
    auto *sort = fresh.findChild<QComboBox *>(QStringLiteral("datasetSort"));
    auto *items = qobject_cast<QStandardItemModel *>(sort->model());
    QVERIFY(sort && items);
    for (SortKey key : {SortKey::Confidence, SortKey::Iou}) {
        QVERIFY(!fresh.isSortAvailable(key));
        QVERIFY(!fresh.setSortKey(key));
        const int i = sort->findData(static_cast<int>(key));
        QVERIFY(!items->item(i)->isEnabled());
        QVERIFY(!sort->itemData(i, Qt::ToolTipRole).toString().isEmpty());
    }
    QVERIFY(sort->itemText(sort->findData(static_cast<int>(SortKey::Iou))).contains(QStringLiteral("run evaluation first")));
    QVERIFY(sort->itemData(sort->findData(static_cast<int>(SortKey::Confidence)), Qt::ToolTipRole)
                .toString().contains(QStringLiteral("classifier")));
    QCOMPARE(fresh.proxy()->sortKey(), SortKey::Id);
}

void TestBrowse::sortByIouWorstFirst()
{
    QVERIFY(!dock()->isSortAvailable(SortKey::Iou));
    QSignalSpy ended(m_window.get(), &MainWindow::evaluationEnded);
    QVERIFY(m_window->evaluateSplit() != 0);
    QVERIFY(ended.wait(120000));
    QCOMPARE(ended.first().at(1).toBool(), true);
    const auto result = m_window->evaluationDock()->result();
    QVERIFY(result && result->images.size() == 8);

    // The panel took the evaluation's numbers; nothing was recomputed.
    QVERIFY(dock()->isSortAvailable(SortKey::Iou));
    QVERIFY(dock()->isSortAvailable(SortKey::Confidence));
    const auto worst = std::min_element(result->images.begin(), result->images.end(),
                                        [](const auto &a, const auto &b) { return a.miou < b.miou; });
    QVERIFY(dock()->setSortKey(SortKey::Iou));
    const QAbstractItemModel *model = dock()->listView()->model();
    QCOMPARE(model->rowCount(), 8);
    QCOMPARE(model->index(0, 0).data(ImageListModel::IouRole).toDouble(), worst->miou);
    QCOMPARE(model->index(0, 0).data(ImageListModel::IdRole).toString(), QString::fromStdString(worst->imageId));
    for (int row = 1; row < model->rowCount(); ++row)
        QVERIFY(model->index(row - 1, 0).data(ImageListModel::IouRole).toDouble()
                <= model->index(row, 0).data(ImageListModel::IouRole).toDouble());
    for (const auto &image : result->images) {
        const int row = dock()->model()->rowOf(QString::fromStdString(image.imageId));
        QCOMPARE(dock()->model()->index(row).data(ImageListModel::IouRole).toDouble(), image.miou);
    }

    // Confidence, least confident first, from the evaluation's classifier scores.
    QVERIFY(dock()->setSortKey(SortKey::Confidence));
    QCOMPARE(dock()->model()->scoredCount(), 8);
    for (int row = 1; row < model->rowCount(); ++row)
        QVERIFY(model->index(row - 1, 0).data(ImageListModel::ConfidenceRole).toDouble()
                <= model->index(row, 0).data(ImageListModel::ConfidenceRole).toDouble());
}

void TestBrowse::keyboardFollowsFilteredOrder_data()
{
    QTest::addColumn<int>("nextKey");
    QTest::addColumn<int>("previousKey");
    QTest::addColumn<bool>("inList"); // keys pressed in the list (Up/Down) or in the canvas
    QTest::newRow("N / P") << int(Qt::Key_N) << int(Qt::Key_P) << false;
    QTest::newRow("PgDown / PgUp") << int(Qt::Key_PageDown) << int(Qt::Key_PageUp) << false;
    QTest::newRow("Down / Up in the list") << int(Qt::Key_Down) << int(Qt::Key_Up) << true;
}

void TestBrowse::keyboardFollowsFilteredOrder()
{
    QFETCH(int, nextKey);
    QFETCH(int, previousKey);
    QFETCH(bool, inList);
    m_window->activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(m_window.get()));

    // The most common class, sorted by IoU when the evaluation above left one: an order that
    // is neither the split's nor the unfiltered one.
    int best = 1, bestCount = 0;
    for (int cls = 1; cls < m_val.labelMap.size(); ++cls) {
        dock()->setClassFilter(cls);
        if (dock()->proxy()->rowCount() > bestCount) {
            best = cls;
            bestCount = dock()->proxy()->rowCount();
        }
    }
    QVERIFY(bestCount >= 2);
    dock()->setClassFilter(best);
    dock()->setSortKey(SortKey::Iou);
    const QStringList order = shownIds();
    QVERIFY(m_window->selectImage(order.front()));
    QCOMPARE(m_window->currentImageId(), order.front());

    QWidget *target = inList ? static_cast<QWidget *>(dock()->listView()) : static_cast<QWidget *>(m_window->canvas());
    target->setFocus();
    QSignalSpy selected(dock(), &DatasetDock::imageSelected);
    for (int i = 1; i < order.size(); ++i) {
        QTest::keyClick(target, Qt::Key(nextKey));
        QCOMPARE(m_window->currentImageId(), order[i]);
    }
    QTest::keyClick(target, Qt::Key(nextKey)); // at the end: stays
    QCOMPARE(m_window->currentImageId(), order.back());
    for (int i = order.size() - 2; i >= 0; --i) {
        QTest::keyClick(target, Qt::Key(previousKey));
        QCOMPARE(m_window->currentImageId(), order[i]);
    }
    QCOMPARE(selected.count(), 2 * (order.size() - 1));
    QCOMPARE(selected.last().first().toString(), order.front());
}

void TestBrowse::typingInSearchIsText()
{
    m_window->activateWindow();
    QVERIFY(QTest::qWaitForWindowActive(m_window.get()));
    const QString shown = m_window->currentImageId();
    auto *search = dock()->findChild<QLineEdit *>(QStringLiteral("datasetSearch"));
    QVERIFY(search);
    search->setFocus();
    QTest::keyClicks(search, QStringLiteral("np"));
    QCOMPARE(search->text(), QStringLiteral("np"));
    QCOMPARE(m_window->currentImageId(), shown);
    search->clear();
}

QTEST_MAIN(TestBrowse)
#include "test_browse.moc"
