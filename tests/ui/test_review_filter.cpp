// Review states in the Browse panel (DatasetDock) on the checked-in tests/fixtures/tiny_voc: the
// model's ReviewRole, the proxy's review filter combined with the class and id filters, the
// badge the delegate draws, and "accept and next" over the Unreviewed filter walking the
// unreviewed images in the order shown, the accepted image leaving the list without announcing
// another one.
#include "training/project/studio_project.h"
#include "ui/docks/dataset_dock.h"
#include "ui/models/image_filter_proxy.h"
#include "ui/models/image_item_delegate.h"
#include "ui/models/image_list_model.h"
#include "vision/io/voc_reader.h"

#include <wsss/source_paths.h>

#include <QAbstractItemModelTester>
#include <QComboBox>
#include <QLabel>
#include <QListView>
#include <QPainter>
#include <QSignalSpy>
#include <QStyleOptionViewItem>
#include <QTest>

#include <algorithm>
#include <map>
#include <memory>
#include <string>
#include <unordered_map>

using wsss::training::ReviewState;
using wsss::ui::DatasetDock;
using wsss::ui::ImageFilterProxy;
using wsss::ui::ImageItemDelegate;
using wsss::ui::ImageListModel;
using SortKey = wsss::ui::ImageFilterProxy::SortKey;

Q_DECLARE_METATYPE(ReviewState)

namespace {

const std::string kData = WSSS_SOURCE_DIR "/tests/fixtures/tiny_voc";

int stateInt(ReviewState state) { return static_cast<int>(state); }

} // namespace

class TestReviewFilter : public QObject {
    Q_OBJECT
private Q_SLOTS:
    void initTestCase();
    void init();

    void modelRoles();
    void setReviewStateSignalsOneRow();
    void filterCombines_data();
    void filterCombines();
    void filterIsLive();
    void dockComboAndCount();
    void acceptAndNextWalksUnreviewed_data();
    void acceptAndNextWalksUnreviewed();
    void previousFromFilteredOut();
    void directModelChangeAnnouncesNothing();
    void upDownInListFromFilteredOut();
    void selectImageClearsReviewFilter();
    void badgeDrawnWithoutMovingTheRow_data();
    void badgeDrawnWithoutMovingTheRow();

private:
    QStringList shownIds() const; // the dock's rows, in order
    QString countText() const;

    wsss::vision::VocDataset m_train;
    std::unique_ptr<DatasetDock> m_dock;
};

void TestReviewFilter::initTestCase()
{
    m_train = wsss::vision::loadVocDataset(kData, "train");
    QCOMPARE(static_cast<int>(m_train.items.size()), 6);
}

void TestReviewFilter::init()
{
    m_dock = std::make_unique<DatasetDock>();
    m_dock->setDataset(m_train);
    m_dock->resize(360, 600);
}

QStringList TestReviewFilter::shownIds() const
{
    QStringList ids;
    const QAbstractItemModel *model = m_dock->listView()->model();
    for (int row = 0; row < model->rowCount(); ++row)
        ids << model->index(row, 0).data(ImageListModel::IdRole).toString();
    return ids;
}

QString TestReviewFilter::countText() const
{
    auto *label = m_dock->findChild<QLabel *>(QStringLiteral("datasetCount"));
    return label ? label->text() : QString();
}

void TestReviewFilter::modelRoles()
{
    ImageListModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setDataset(m_train);
    for (int row = 0; row < model.rowCount(); ++row)
        QCOMPARE(model.index(row).data(ImageListModel::ReviewRole).toInt(), stateInt(ReviewState::Unreviewed));
    QCOMPARE(model.roleNames().value(ImageListModel::ReviewRole), QByteArray("review"));

    const std::string a = m_train.items[1].id, b = m_train.items[4].id;
    model.setReviewStates({{a, ReviewState::Accepted}, {b, ReviewState::Rejected}, {"no_such_id", ReviewState::Corrected}});
    QCOMPARE(model.index(1).data(ImageListModel::ReviewRole).toInt(), stateInt(ReviewState::Accepted));
    QCOMPARE(model.index(4).data(ImageListModel::ReviewRole).toInt(), stateInt(ReviewState::Rejected));
    QCOMPARE(model.index(0).data(ImageListModel::ReviewRole).toInt(), stateInt(ReviewState::Unreviewed));
    QVERIFY(model.index(1).data(Qt::ToolTipRole).toString().contains(QStringLiteral("accepted")));
    QVERIFY(!model.index(0).data(Qt::ToolTipRole).toString().contains(QStringLiteral("review")));

    // All at once: an image not named goes back to unreviewed.
    model.setReviewStates({{b, ReviewState::Corrected}});
    QCOMPARE(model.reviewState(1), ReviewState::Unreviewed);
    QCOMPARE(model.reviewState(4), ReviewState::Corrected);

    // A new dataset starts unreviewed.
    model.setDataset(m_train);
    QCOMPARE(model.reviewState(4), ReviewState::Unreviewed);
}

void TestReviewFilter::setReviewStateSignalsOneRow()
{
    ImageListModel model;
    QAbstractItemModelTester tester(&model, QAbstractItemModelTester::FailureReportingMode::QtTest);
    model.setDataset(m_train);
    QSignalSpy changed(&model, &QAbstractItemModel::dataChanged);
    model.setReviewState(m_train.items[2].id, ReviewState::Corrected);
    QCOMPARE(changed.count(), 1);
    QCOMPARE(changed.first().at(0).toModelIndex(), model.index(2));
    QCOMPARE(changed.first().at(1).toModelIndex(), model.index(2));
    QVERIFY(changed.first().at(2).value<QList<int>>().contains(ImageListModel::ReviewRole));
    QCOMPARE(model.index(2).data(ImageListModel::ReviewRole).toInt(), stateInt(ReviewState::Corrected));

    model.setReviewState(m_train.items[2].id, ReviewState::Corrected); // unchanged
    model.setReviewState("no_such_id", ReviewState::Accepted);
    QCOMPARE(changed.count(), 1);
}

void TestReviewFilter::filterCombines_data()
{
    QTest::addColumn<int>("review");
    QTest::addColumn<bool>("byClass"); // also filter by the class of the first image
    QTest::addColumn<QString>("idText");
    QTest::newRow("all") << -1 << false << QString();
    for (ReviewState state : {ReviewState::Unreviewed, ReviewState::Corrected, ReviewState::Accepted, ReviewState::Rejected}) {
        const QByteArray name = QByteArray::fromStdString(wsss::training::reviewStateName(state));
        QTest::newRow(name.constData()) << stateInt(state) << false << QString();
        QTest::newRow((name + " + class").constData()) << stateInt(state) << true << QString();
        QTest::newRow((name + " + id").constData()) << stateInt(state) << false << QStringLiteral("3");
        QTest::newRow((name + " + class + id").constData()) << stateInt(state) << true << QStringLiteral("_00000");
    }
}

void TestReviewFilter::filterCombines()
{
    QFETCH(int, review);
    QFETCH(bool, byClass);
    QFETCH(QString, idText);
    // Two images accepted, two corrected, one rejected, one unreviewed: every review filter both
    // keeps and drops rows.
    const std::map<std::string, ReviewState> states = {
        {m_train.items[0].id, ReviewState::Accepted},  {m_train.items[1].id, ReviewState::Corrected},
        {m_train.items[2].id, ReviewState::Rejected},  {m_train.items[3].id, ReviewState::Accepted},
        {m_train.items[5].id, ReviewState::Corrected},
    };
    ImageListModel model;
    model.setDataset(m_train);
    model.setReviewStates(states);
    ImageFilterProxy proxy;
    QAbstractItemModelTester tester(&proxy, QAbstractItemModelTester::FailureReportingMode::QtTest);
    proxy.setSourceModel(&model);
    const int cls = byClass ? m_train.items[0].labels.front() : -1;
    proxy.setReviewFilter(review);
    proxy.setClassFilter(cls);
    proxy.setIdFilter(idText);
    QCOMPARE(proxy.reviewFilter(), review);

    QStringList expected;
    for (const auto &item : m_train.items) {
        const auto it = states.find(item.id);
        const ReviewState state = it == states.end() ? ReviewState::Unreviewed : it->second;
        if (review >= 0 && stateInt(state) != review)
            continue;
        if (cls >= 0 && std::find(item.labels.begin(), item.labels.end(), cls) == item.labels.end())
            continue;
        if (!QString::fromStdString(item.id).contains(idText, Qt::CaseInsensitive))
            continue;
        expected << QString::fromStdString(item.id);
    }
    std::sort(expected.begin(), expected.end());
    QStringList shown;
    for (int row = 0; row < proxy.rowCount(); ++row)
        shown << proxy.index(row, 0).data(ImageListModel::IdRole).toString();
    QCOMPARE(shown, expected);
}

void TestReviewFilter::filterIsLive()
{
    ImageListModel model;
    model.setDataset(m_train);
    ImageFilterProxy proxy;
    QAbstractItemModelTester tester(&proxy, QAbstractItemModelTester::FailureReportingMode::QtTest);
    proxy.setSourceModel(&model);
    proxy.setReviewFilter(stateInt(ReviewState::Unreviewed));
    QCOMPARE(proxy.rowCount(), 6);
    model.setReviewState(m_train.items[2].id, ReviewState::Accepted);
    QCOMPARE(proxy.rowCount(), 5);
    QVERIFY(!proxy.mapFromSource(model.index(2)).isValid());
    // Where it would stand: the row that followed it.
    QCOMPARE(proxy.insertionRow(model.index(2)), 2);
    model.setReviewState(m_train.items[2].id, ReviewState::Unreviewed); // undo
    QCOMPARE(proxy.rowCount(), 6);
    QCOMPARE(proxy.mapFromSource(model.index(2)).row(), 2);
    proxy.setReviewFilter(-1);
    QCOMPARE(proxy.rowCount(), 6);
}

void TestReviewFilter::dockComboAndCount()
{
    auto *combo = m_dock->findChild<QComboBox *>(QStringLiteral("reviewFilterCombo"));
    QVERIFY(combo);
    QCOMPARE(combo->count(), 5);
    const QStringList texts = {QStringLiteral("All"), QStringLiteral("Unreviewed"), QStringLiteral("Corrected"),
                               QStringLiteral("Accepted"), QStringLiteral("Rejected")};
    const QList<int> data = {-1, stateInt(ReviewState::Unreviewed), stateInt(ReviewState::Corrected),
                             stateInt(ReviewState::Accepted), stateInt(ReviewState::Rejected)};
    for (int i = 0; i < combo->count(); ++i) {
        QCOMPARE(combo->itemText(i), texts[i]);
        QCOMPARE(combo->itemData(i).toInt(), data[i]);
    }
    QCOMPARE(countText(), QStringLiteral("6 images"));

    m_dock->setReviewStates({{m_train.items[0].id, ReviewState::Accepted}, {m_train.items[1].id, ReviewState::Accepted}});
    combo->setCurrentIndex(combo->findData(stateInt(ReviewState::Accepted))); // as a person picks it
    QCOMPARE(m_dock->reviewFilter(), stateInt(ReviewState::Accepted));
    QCOMPARE(shownIds(), (QStringList{QString::fromStdString(m_train.items[0].id), QString::fromStdString(m_train.items[1].id)}));
    QCOMPARE(countText(), QStringLiteral("2 of 6 images"));

    m_dock->setReviewFilter(stateInt(ReviewState::Unreviewed));
    QCOMPARE(combo->currentData().toInt(), stateInt(ReviewState::Unreviewed));
    QCOMPARE(countText(), QStringLiteral("4 of 6 images"));
    // A change of state moves the count with the rows.
    m_dock->setReviewState(m_train.items[5].id, ReviewState::Rejected);
    QCOMPARE(countText(), QStringLiteral("3 of 6 images"));
    m_dock->model()->setReviewState(m_train.items[5].id, ReviewState::Unreviewed); // past the dock
    QCOMPARE(countText(), QStringLiteral("4 of 6 images"));

    // A new dataset shows every image again.
    m_dock->setDataset(m_train);
    QCOMPARE(m_dock->reviewFilter(), -1);
    QCOMPARE(combo->currentIndex(), 0);
    QCOMPARE(countText(), QStringLiteral("6 images"));
}

void TestReviewFilter::acceptAndNextWalksUnreviewed_data()
{
    QTest::addColumn<bool>("byIou"); // an order that is not the ids'
    QTest::newRow("sorted by id") << false;
    QTest::newRow("sorted by IoU") << true;
}

void TestReviewFilter::acceptAndNextWalksUnreviewed()
{
    QFETCH(bool, byIou);
    if (byIou) {
        std::unordered_map<std::string, double> ious;
        for (size_t i = 0; i < m_train.items.size(); ++i)
            ious.emplace(m_train.items[i].id, 0.9 - 0.13 * static_cast<double>((i * 5) % 6)); // a shuffled order
        m_dock->model()->setImageIous(ious);
        QVERIFY(m_dock->setSortKey(SortKey::Iou));
    }
    // One image already accepted: the walk never visits it.
    m_dock->setReviewStates({{m_train.items[3].id, ReviewState::Accepted}});
    m_dock->setReviewFilter(stateInt(ReviewState::Unreviewed));
    const QStringList order = shownIds();
    QCOMPARE(order.size(), 5);
    QVERIFY(!order.contains(QString::fromStdString(m_train.items[3].id)));
    if (byIou)
        QVERIFY(order != [&] { QStringList s = order; s.sort(); return s; }());

    QSignalSpy selected(m_dock.get(), &DatasetDock::imageSelected);
    QVERIFY(m_dock->selectImage(order.front()));
    QCOMPARE(selected.count(), 1);
    QStringList visited = {selected.last().first().toString()};
    for (int i = 0; i < order.size(); ++i) {
        const QString current = m_dock->currentId();
        QCOMPARE(current, order[i]);
        // Accept: the image leaves the list, nothing else is announced, the canvas keeps it.
        m_dock->setReviewState(current.toStdString(), ReviewState::Accepted);
        QCOMPARE(selected.count(), i + 1);
        QCOMPARE(m_dock->currentId(), current);
        QVERIFY(!m_dock->listView()->currentIndex().isValid());
        QCOMPARE(shownIds(), order.mid(i + 1));
        QCOMPARE(countText(), QStringLiteral("%1 of 6 images").arg(order.size() - i - 1));
        // Next: the row that followed it, not the first row.
        const bool moved = m_dock->nextImage();
        QCOMPARE(moved, i + 1 < order.size());
        if (moved) {
            QCOMPARE(selected.count(), i + 2);
            visited << selected.last().first().toString();
            QCOMPARE(m_dock->listView()->currentIndex().data(ImageListModel::IdRole).toString(), order[i + 1]);
        }
    }
    QCOMPARE(visited, order);
    QCOMPARE(shownIds().size(), 0);
    QVERIFY(!m_dock->nextImage());
    QVERIFY(!m_dock->previousImage());
}

void TestReviewFilter::previousFromFilteredOut()
{
    m_dock->setReviewFilter(stateInt(ReviewState::Unreviewed));
    const QStringList order = shownIds();
    QVERIFY(m_dock->selectImage(order[3]));
    m_dock->setReviewState(order[3].toStdString(), ReviewState::Rejected);
    QVERIFY(m_dock->previousImage());
    QCOMPARE(m_dock->currentId(), order[2]);
    // From the first row accepted, previous has nowhere to go; next still takes the one after.
    QVERIFY(m_dock->selectImage(order[0]));
    m_dock->setReviewState(order[0].toStdString(), ReviewState::Accepted);
    QVERIFY(!m_dock->previousImage());
    QCOMPARE(m_dock->currentId(), order[0]);
    QVERIFY(m_dock->nextImage());
    QCOMPARE(m_dock->currentId(), order[1]);
    // From the last row, next has nowhere to go.
    QVERIFY(m_dock->selectImage(order[5]));
    m_dock->setReviewState(order[5].toStdString(), ReviewState::Accepted);
    QVERIFY(!m_dock->nextImage());
    QVERIFY(m_dock->previousImage());
    QCOMPARE(m_dock->currentId(), order[4]);
}

void TestReviewFilter::directModelChangeAnnouncesNothing()
{
    // The view moves its current row when rows go; the dock must not announce that neighbour,
    // even when the change reaches the model without going through the dock.
    m_dock->setReviewFilter(stateInt(ReviewState::Unreviewed));
    const QStringList order = shownIds();
    QVERIFY(m_dock->selectImage(order[2]));
    QSignalSpy selected(m_dock.get(), &DatasetDock::imageSelected);
    m_dock->model()->setReviewState(order[2].toStdString(), ReviewState::Accepted);
    QCOMPARE(selected.count(), 0);
    QCOMPARE(m_dock->currentId(), order[2]);
    QVERIFY(!m_dock->listView()->currentIndex().isValid());
    QCOMPARE(countText(), QStringLiteral("5 of 6 images"));
    QVERIFY(m_dock->nextImage());
    QCOMPARE(m_dock->currentId(), order[3]);
    // Undo: the image comes back; the shown one stays current, nothing is announced.
    m_dock->model()->setReviewState(order[2].toStdString(), ReviewState::Unreviewed);
    QCOMPARE(selected.count(), 1);
    QCOMPARE(shownIds(), order);
    QCOMPARE(m_dock->listView()->currentIndex().data(ImageListModel::IdRole).toString(), order[3]);
}

void TestReviewFilter::upDownInListFromFilteredOut()
{
    m_dock->show();
    QVERIFY(QTest::qWaitForWindowExposed(m_dock.get()));
    m_dock->setReviewFilter(stateInt(ReviewState::Unreviewed));
    const QStringList order = shownIds();
    QVERIFY(m_dock->selectImage(order[2]));
    m_dock->setReviewState(order[2].toStdString(), ReviewState::Accepted);
    QListView *list = m_dock->listView();
    list->setFocus();
    QTest::keyClick(list, Qt::Key_Down);
    QCOMPARE(m_dock->currentId(), order[3]);
    QTest::keyClick(list, Qt::Key_Up); // an ordinary step within the list now
    QCOMPARE(m_dock->currentId(), order[1]);
    m_dock->setReviewState(order[1].toStdString(), ReviewState::Accepted);
    QTest::keyClick(list, Qt::Key_Up);
    QCOMPARE(m_dock->currentId(), order[0]);
}

void TestReviewFilter::selectImageClearsReviewFilter()
{
    const QString accepted = QString::fromStdString(m_train.items[4].id);
    m_dock->setReviewState(accepted.toStdString(), ReviewState::Accepted);
    m_dock->setReviewFilter(stateInt(ReviewState::Unreviewed));
    QSignalSpy selected(m_dock.get(), &DatasetDock::imageSelected);
    QVERIFY(m_dock->selectImage(accepted));
    QCOMPARE(m_dock->reviewFilter(), -1);
    QCOMPARE(shownIds().size(), 6);
    QCOMPARE(selected.count(), 1);
    QCOMPARE(selected.first().first().toString(), accepted);
}

void TestReviewFilter::badgeDrawnWithoutMovingTheRow_data()
{
    QTest::addColumn<ReviewState>("state");
    QTest::newRow("corrected") << ReviewState::Corrected;
    QTest::newRow("accepted") << ReviewState::Accepted;
    QTest::newRow("rejected") << ReviewState::Rejected;
}

void TestReviewFilter::badgeDrawnWithoutMovingTheRow()
{
    QFETCH(ReviewState, state);
    ImageListModel model;
    model.setDataset(m_train);
    QListView list;
    list.setModel(&model);
    ImageItemDelegate delegate;
    const QModelIndex index = model.index(0);
    // The thumbnail first, so both paintings below show the same one.
    (void)index.data(ImageListModel::ThumbnailRole);
    QTRY_VERIFY_WITH_TIMEOUT(!index.data(ImageListModel::ThumbnailRole).value<QImage>().isNull(), 30000);

    QStyleOptionViewItem option;
    option.initFrom(&list);
    option.rect = QRect(QPoint(0, 0), QSize(360, delegate.sizeHint(option, index).height()));
    option.state &= ~QStyle::State_Selected;
    const auto paint = [&] {
        QImage image(option.rect.size(), QImage::Format_ARGB32);
        image.fill(Qt::white);
        QPainter painter(&image);
        delegate.paint(&painter, option, index);
        return image;
    };

    QVERIFY(delegate.reviewBadgeRect(option, index).isEmpty()); // unreviewed: no badge
    const QImage plain = paint();
    const QVector<QRect> plainChips = delegate.chipRects(option, index);
    const QSize plainHint = delegate.sizeHint(option, index);

    model.setReviewState(m_train.items[0].id, state);
    const QRect badge = delegate.reviewBadgeRect(option, index);
    QVERIFY(!badge.isEmpty());
    QVERIFY(option.rect.contains(badge));
    const QImage marked = paint();
    const QColor color = ImageItemDelegate::reviewColor(state);
    QVERIFY(color.isValid());
    int filled = 0, plainFilled = 0;
    for (int y = badge.top(); y <= badge.bottom(); ++y)
        for (int x = badge.left(); x <= badge.right(); ++x) {
            filled += marked.pixel(x, y) == color.rgb();
            plainFilled += plain.pixel(x, y) == color.rgb();
        }
    QVERIFY2(filled >= badge.width() * badge.height() / 6, qPrintable(QString::number(filled)));
    QCOMPARE(plainFilled, 0);
    // Everything else stays where it was: the same pixels outside the badge, the same chips.
    for (int y = 0; y < plain.height(); ++y)
        for (int x = 0; x < plain.width(); ++x)
            if (!badge.contains(x, y) && plain.pixel(x, y) != marked.pixel(x, y))
                QFAIL(qPrintable(QStringLiteral("pixel (%1, %2) changed outside the badge").arg(x).arg(y)));
    QCOMPARE(delegate.chipRects(option, index), plainChips);
    QCOMPARE(delegate.sizeHint(option, index), plainHint);
}

QTEST_MAIN(TestReviewFilter)
#include "test_review_filter.moc"
