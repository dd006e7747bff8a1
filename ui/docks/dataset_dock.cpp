#include "ui/docks/dataset_dock.h"

#include "training/engine/events.h"
#include "training/project/studio_project.h"
#include "ui/models/image_item_delegate.h"
#include "ui/models/image_list_model.h"
#include "vision/io/voc_reader.h"

#include <QAction>
#include <QComboBox>
#include <QHBoxLayout>
#include <QItemSelectionModel>
#include <QKeyEvent>
#include <QLabel>
#include <QLineEdit>
#include <QListView>
#include <QPainter>
#include <QPixmap>
#include <QSignalBlocker>
#include <QStandardItemModel>
#include <QVBoxLayout>

#include <unordered_map>
#include <utility>

namespace wsss::ui {

namespace {

QPixmap swatch(const QColor &color)
{
    QPixmap p(12, 12);
    p.fill(color);
    return p;
}

// The filter's icon of a state: the badge the rows show (transparent for unreviewed, so the
// texts stay aligned).
QIcon reviewIcon(training::ReviewState state)
{
    QPixmap p(16, 16);
    p.fill(Qt::transparent);
    QPainter painter(&p);
    ImageItemDelegate::paintReviewBadge(&painter, QRectF(1, 1, 14, 14), state);
    return QIcon(p);
}

} // namespace

DatasetDock::DatasetDock(QWidget *parent) : QDockWidget(tr("Browse"), parent)
{
    setObjectName(QStringLiteral("DatasetDock")); // saveState() needs a name

    m_model = new ImageListModel(this);
    m_proxy = new ImageFilterProxy(this);
    m_proxy->setSourceModel(m_model);
    // Rows leave the list when their data stops passing a filter (an image accepted while only
    // unreviewed ones are shown). The view then makes a neighbour current, which must not
    // announce it: connected before the view exists, so this runs before the view's handler.
    connect(m_proxy, &QAbstractItemModel::rowsAboutToBeRemoved, this, [this] { m_rowsLeaving = true; });
    connect(m_proxy, &QAbstractItemModel::rowsRemoved, this, [this] {
        m_rowsLeaving = false;
        keepShownCurrent();
        updateCount();
    });
    connect(m_proxy, &QAbstractItemModel::rowsInserted, this, [this] {
        keepShownCurrent();
        updateCount();
    });

    auto *body = new QWidget(this);
    auto *layout = new QVBoxLayout(body);
    layout->setContentsMargins(4, 4, 4, 4);
    m_search = new QLineEdit(body);
    m_search->setObjectName(QStringLiteral("datasetSearch"));
    m_search->setPlaceholderText(tr("Search id…"));
    m_search->setClearButtonEnabled(true);
    m_reviewCombo = new QComboBox(body);
    m_reviewCombo->setObjectName(QStringLiteral("reviewFilterCombo"));
    m_reviewCombo->setToolTip(tr("Show only images in this review state"));
    m_reviewCombo->addItem(tr("All"), -1);
    using training::ReviewState;
    const std::pair<ReviewState, QString> states[] = {
        {ReviewState::Unreviewed, tr("Unreviewed")},
        {ReviewState::Corrected, tr("Corrected")},
        {ReviewState::Accepted, tr("Accepted")},
        {ReviewState::Rejected, tr("Rejected")},
    };
    for (const auto &[state, name] : states)
        m_reviewCombo->addItem(reviewIcon(state), name, static_cast<int>(state));
    m_reviewCombo->setItemIcon(0, reviewIcon(ReviewState::Unreviewed));
    auto *searchRow = new QHBoxLayout;
    searchRow->addWidget(m_search, 2);
    searchRow->addWidget(m_reviewCombo, 1);

    auto *row = new QHBoxLayout;
    m_classCombo = new QComboBox(body);
    m_classCombo->setObjectName(QStringLiteral("datasetClassFilter"));
    m_classCombo->setToolTip(tr("Show only images labelled with this class"));
    m_classCombo->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_classCombo->setMinimumContentsLength(8);
    m_sortCombo = new QComboBox(body);
    m_sortCombo->setObjectName(QStringLiteral("datasetSort"));
    m_sortCombo->setSizeAdjustPolicy(QComboBox::AdjustToMinimumContentsLengthWithIcon);
    m_sortCombo->setMinimumContentsLength(8);
    m_sortCombo->addItem(tr("Sort by id"), static_cast<int>(SortKey::Id));
    m_sortCombo->addItem(tr("Confidence"), static_cast<int>(SortKey::Confidence));
    m_sortCombo->addItem(tr("IoU"), static_cast<int>(SortKey::Iou));
    row->addWidget(m_classCombo, 1);
    row->addWidget(m_sortCombo, 1);

    m_list = new QListView(body);
    m_list->setObjectName(QStringLiteral("datasetList"));
    m_list->setModel(m_proxy);
    m_delegate = new ImageItemDelegate(m_list);
    m_list->setItemDelegate(m_delegate);
    m_list->setUniformItemSizes(true); // thousands of rows: measure one, not each
    m_list->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_list->setSelectionMode(QAbstractItemView::SingleSelection);
    m_list->setHorizontalScrollBarPolicy(Qt::ScrollBarAlwaysOff);
    m_list->setVerticalScrollMode(QAbstractItemView::ScrollPerPixel);
    m_list->installEventFilter(this);
    m_count = new QLabel(body);
    m_count->setObjectName(QStringLiteral("datasetCount"));
    layout->addLayout(searchRow);
    layout->addLayout(row);
    layout->addWidget(m_list, 1);
    layout->addWidget(m_count);
    setWidget(body);

    m_nextAction = new QAction(tr("&Next image"), this);
    m_nextAction->setObjectName(QStringLiteral("nextImageAction"));
    m_nextAction->setShortcuts({QKeySequence(Qt::Key_N), QKeySequence(Qt::Key_PageDown)});
    m_nextAction->setToolTip(tr("The next image in the Browse panel's order (N, Page Down)"));
    connect(m_nextAction, &QAction::triggered, this, &DatasetDock::nextImage);
    m_previousAction = new QAction(tr("&Previous image"), this);
    m_previousAction->setObjectName(QStringLiteral("previousImageAction"));
    m_previousAction->setShortcuts({QKeySequence(Qt::Key_P), QKeySequence(Qt::Key_PageUp)});
    m_previousAction->setToolTip(tr("The previous image in the Browse panel's order (P, Page Up)"));
    connect(m_previousAction, &QAction::triggered, this, &DatasetDock::previousImage);

    connect(m_search, &QLineEdit::textChanged, this,
            [this](const QString &text) { refilter([&] { m_proxy->setIdFilter(text); }); });
    connect(m_classCombo, &QComboBox::currentIndexChanged, this, [this](int i) {
        const int cls = i < 0 ? -1 : m_classCombo->itemData(i).toInt();
        refilter([&] { m_proxy->setClassFilter(cls); });
    });
    connect(m_reviewCombo, &QComboBox::currentIndexChanged, this, [this](int i) {
        const int state = i < 0 ? -1 : m_reviewCombo->itemData(i).toInt();
        refilter([&] { m_proxy->setReviewFilter(state); });
    });
    connect(m_sortCombo, &QComboBox::currentIndexChanged, this, [this](int i) {
        const auto key = static_cast<SortKey>(m_sortCombo->itemData(i).toInt());
        refilter([&] { m_proxy->setSortKey(key); });
        m_list->scrollToTop();
    });
    connect(m_list->selectionModel(), &QItemSelectionModel::currentChanged, this,
            [this](const QModelIndex &, const QModelIndex &) { emitCurrent(); });
    // New scores can reorder rows; keep the count and the sort items current.
    connect(m_model, &QAbstractItemModel::dataChanged, this,
            [this](const QModelIndex &, const QModelIndex &, const QList<int> &roles) {
                if (roles.contains(ImageListModel::IouRole) || roles.contains(ImageListModel::ConfidenceRole))
                    updateSortItems();
            });
    updateSortItems();
    updateCount();
}

template <typename Change> void DatasetDock::refilter(Change change)
{
    const QString shown = m_shownId;
    m_filtering = true;
    change();
    keepShownCurrent();
    const QModelIndex index = m_proxy->mapFromSource(m_model->index(m_model->rowOf(shown)));
    if (index.isValid())
        m_list->scrollTo(index);
    m_filtering = false;
    updateCount();
}

void DatasetDock::keepShownCurrent()
{
    const bool filtering = std::exchange(m_filtering, true);
    const QModelIndex index = m_proxy->mapFromSource(m_model->index(m_model->rowOf(m_shownId)));
    if (index.isValid()) {
        if (m_list->currentIndex() != index)
            m_list->setCurrentIndex(index);
    } else {
        m_list->selectionModel()->clear();
    }
    m_filtering = filtering;
}

void DatasetDock::setDataset(const wsss::vision::VocDataset &dataset)
{
    m_shownId.clear();
    m_root = dataset.root;
    m_split = dataset.split;
    m_filtering = true;
    m_model->setDataset(dataset);
    {
        const QSignalBlocker block(m_classCombo);
        m_classCombo->clear();
        m_classCombo->addItem(tr("All classes"), -1);
        const QStringList names = m_model->classNames();
        for (int c = 1; c < names.size(); ++c)
            m_classCombo->addItem(QIcon(swatch(m_model->classColor(c))), names[c], c);
        m_proxy->setClassFilter(-1);
    }
    {
        const QSignalBlocker block(m_reviewCombo);
        m_reviewCombo->setCurrentIndex(0);
        m_proxy->setReviewFilter(-1);
    }
    {
        const QSignalBlocker block(m_sortCombo);
        m_sortCombo->setCurrentIndex(0);
        m_proxy->setSortKey(SortKey::Id);
    }
    m_filtering = false;
    updateSortItems();
    updateCount();
}

bool DatasetDock::selectImage(const QString &id)
{
    const int row = m_model->rowOf(id);
    if (row < 0)
        return false;
    QModelIndex index = m_proxy->mapFromSource(m_model->index(row));
    if (!index.isValid()) {
        // Hidden by a filter: show everything again, without announcing the row that passes by.
        m_filtering = true;
        m_search->clear();
        m_classCombo->setCurrentIndex(0);
        m_reviewCombo->setCurrentIndex(0);
        m_filtering = false;
        updateCount();
        index = m_proxy->mapFromSource(m_model->index(row));
    }
    if (m_list->currentIndex() == index) {
        emitCurrent(); // asked again: inspect again
    } else {
        m_list->setCurrentIndex(index);
    }
    m_list->scrollTo(index);
    return true;
}

bool DatasetDock::nextImage() { return stepImage(+1); }
bool DatasetDock::previousImage() { return stepImage(-1); }

bool DatasetDock::stepImage(int delta)
{
    const int rows = m_proxy->rowCount();
    if (rows == 0)
        return false;
    const QModelIndex shown = m_model->index(m_model->rowOf(m_shownId));
    const QModelIndex current = m_proxy->mapFromSource(shown);
    int target = 0;
    if (current.isValid()) {
        target = current.row() + delta;
    } else if (shown.isValid()) {
        // Hidden by a filter (just accepted under "Unreviewed", say): go on from where it would
        // stand, so the walk neither restarts at the top nor skips the row that took its place.
        const int at = m_proxy->insertionRow(shown);
        target = delta > 0 ? at + delta - 1 : at + delta;
    } else {
        target = delta > 0 ? 0 : rows - 1;
    }
    if (target < 0 || target >= rows)
        return false;
    const QModelIndex index = m_proxy->index(target, 0);
    m_list->setCurrentIndex(index);
    m_list->scrollTo(index);
    return true;
}

void DatasetDock::setClassFilter(int classIndex)
{
    const int i = m_classCombo->findData(classIndex);
    m_classCombo->setCurrentIndex(i < 0 ? 0 : i);
}

void DatasetDock::setSearchText(const QString &text) { m_search->setText(text); }

void DatasetDock::setReviewFilter(int state)
{
    const int i = m_reviewCombo->findData(state);
    m_reviewCombo->setCurrentIndex(i < 0 ? 0 : i);
}

void DatasetDock::setReviewStates(const std::map<std::string, training::ReviewState> &states)
{
    refilter([&] { m_model->setReviewStates(states); });
}

void DatasetDock::setReviewState(const std::string &id, training::ReviewState state)
{
    refilter([&] { m_model->setReviewState(id, state); });
}

bool DatasetDock::eventFilter(QObject *watched, QEvent *event)
{
    // Up/Down in a list with no current row would start again at its top; when the shown image
    // is only hidden by a filter, step from its place as N/P do.
    if (watched == m_list && event->type() == QEvent::KeyPress && !m_list->currentIndex().isValid()
        && m_model->rowOf(m_shownId) >= 0) {
        const auto *key = static_cast<QKeyEvent *>(event);
        if (key->modifiers() == Qt::NoModifier && (key->key() == Qt::Key_Down || key->key() == Qt::Key_Up)) {
            stepImage(key->key() == Qt::Key_Down ? +1 : -1);
            return true;
        }
    }
    return QDockWidget::eventFilter(watched, event);
}

bool DatasetDock::setSortKey(SortKey key)
{
    if (!isSortAvailable(key))
        return false;
    m_sortCombo->setCurrentIndex(m_sortCombo->findData(static_cast<int>(key)));
    return true;
}

bool DatasetDock::isSortAvailable(SortKey key) const
{
    switch (key) {
    case SortKey::Id: return true;
    case SortKey::Confidence: return m_model->scoredCount() > 0;
    case SortKey::Iou: return m_model->hasIous();
    }
    return false;
}

QString DatasetDock::sortToolTip(SortKey key) const
{
    switch (key) {
    case SortKey::Id:
        return tr("Image ids in alphabetical order");
    case SortKey::Confidence:
        if (!isSortAvailable(key))
            return tr("No classifier scores yet: open a checkpoint and run an evaluation "
                      "(Tools ▸ Evaluate split), or inspect images");
        return tr("Least confident first: the classifier's lowest score among the image's labels "
                  "(%1 of %2 images scored; the rest follow by id)")
            .arg(m_model->scoredCount())
            .arg(m_model->rowCount());
    case SortKey::Iou:
        if (!isSortAvailable(key))
            return tr("No per-image IoU yet: run an evaluation of this split first (Tools ▸ Evaluate split)");
        return tr("Worst pseudo-masks first: each image's IoU against its ground truth, from the last evaluation");
    }
    return {};
}

void DatasetDock::updateSortItems()
{
    auto *items = qobject_cast<QStandardItemModel *>(m_sortCombo->model());
    for (int i = 0; i < m_sortCombo->count(); ++i) {
        const auto key = static_cast<SortKey>(m_sortCombo->itemData(i).toInt());
        QString text;
        switch (key) {
        case SortKey::Id: text = tr("Sort by id"); break;
        case SortKey::Confidence:
            text = isSortAvailable(key) ? tr("Confidence ↑") : tr("Confidence (no scores)");
            break;
        case SortKey::Iou:
            text = isSortAvailable(key) ? tr("IoU ↑ (worst first)") : tr("IoU (run evaluation first)");
            break;
        }
        m_sortCombo->setItemText(i, text);
        m_sortCombo->setItemData(i, sortToolTip(key), Qt::ToolTipRole);
        if (items)
            items->item(i)->setEnabled(isSortAvailable(key));
    }
    const auto current = static_cast<SortKey>(m_sortCombo->currentData().toInt());
    m_sortCombo->setToolTip(sortToolTip(current));
    if (!isSortAvailable(current))
        m_sortCombo->setCurrentIndex(0);
}

void DatasetDock::setEvaluation(const std::shared_ptr<const wsss::training::EvaluationResult> &result)
{
    if (!result || result->dataRoot != m_root || result->split != m_split)
        return;
    std::unordered_map<std::string, double> ious;
    for (const auto &image : result->images) {
        ious.emplace(image.imageId, image.miou);
        m_model->setImageScores(image.imageId, image.classScores);
    }
    refilter([&] { m_model->setImageIous(ious); });
    updateSortItems();
}

void DatasetDock::setImageScores(const std::string &id, const std::vector<float> &scores)
{
    refilter([&] { m_model->setImageScores(id, scores); });
}

void DatasetDock::emitCurrent()
{
    const QModelIndex index = m_list->currentIndex();
    if (m_filtering || m_rowsLeaving || !index.isValid())
        return;
    m_shownId = index.data(ImageListModel::IdRole).toString();
    Q_EMIT imageSelected(index.data(ImageListModel::IdRole).toString(),
                         index.data(ImageListModel::ImagePathRole).toString(),
                         index.data(ImageListModel::LabelsRole).value<QVector<int>>());
}

void DatasetDock::updateCount()
{
    const int total = m_model->rowCount();
    const int shown = m_proxy->rowCount();
    // Plurals spelled out: "%n image(s)" reads as written when no translation is installed.
    if (shown != total)
        m_count->setText(tr("%1 of %2 images").arg(shown).arg(total));
    else
        m_count->setText(total == 1 ? tr("1 image") : tr("%1 images").arg(total));
}

} // namespace wsss::ui
