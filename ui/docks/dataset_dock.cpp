#include "ui/docks/dataset_dock.h"

#include "ui/models/image_list_model.h"

#include <QItemSelectionModel>
#include <QLabel>
#include <QLineEdit>
#include <QListView>
#include <QSortFilterProxyModel>
#include <QVBoxLayout>

namespace wsss::ui {

DatasetDock::DatasetDock(QWidget *parent) : QDockWidget(tr("Dataset"), parent)
{
    setObjectName(QStringLiteral("DatasetDock")); // saveState() needs a name

    m_model = new ImageListModel(this);
    m_proxy = new QSortFilterProxyModel(this);
    m_proxy->setSourceModel(m_model);
    m_proxy->setFilterRole(ImageListModel::IdRole);
    m_proxy->setFilterCaseSensitivity(Qt::CaseInsensitive);

    auto *body = new QWidget(this);
    auto *layout = new QVBoxLayout(body);
    layout->setContentsMargins(4, 4, 4, 4);
    m_search = new QLineEdit(body);
    m_search->setPlaceholderText(tr("Filter by id…"));
    m_search->setClearButtonEnabled(true);
    m_list = new QListView(body);
    m_list->setModel(m_proxy);
    m_list->setUniformItemSizes(true); // VOC has 10k ids; skip measuring each
    m_list->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_list->setSelectionMode(QAbstractItemView::SingleSelection);
    m_count = new QLabel(body);
    layout->addWidget(m_search);
    layout->addWidget(m_list, 1);
    layout->addWidget(m_count);
    setWidget(body);

    connect(m_search, &QLineEdit::textChanged, this, [this](const QString &text) {
        // Typing a filter must not inspect whichever row becomes current: the image on screen
        // stays, and stays selected while the filter lists it.
        const QString shown = m_shownId;
        m_filtering = true;
        m_proxy->setFilterFixedString(text);
        const QModelIndex index = m_proxy->mapFromSource(m_model->index(m_model->rowOf(shown)));
        if (index.isValid())
            m_list->setCurrentIndex(index);
        else
            m_list->selectionModel()->clear();
        m_filtering = false;
        updateCount();
    });
    connect(m_list->selectionModel(), &QItemSelectionModel::currentChanged, this,
            [this](const QModelIndex &, const QModelIndex &) { emitCurrent(); });
    updateCount();
}

void DatasetDock::setDataset(const wsss::vision::VocDataset &dataset)
{
    m_shownId.clear();
    m_model->setDataset(dataset);
    updateCount();
}

bool DatasetDock::selectImage(const QString &id)
{
    const int row = m_model->rowOf(id);
    if (row < 0)
        return false;
    QModelIndex index = m_proxy->mapFromSource(m_model->index(row));
    if (!index.isValid()) {
        m_search->clear();
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

void DatasetDock::emitCurrent()
{
    const QModelIndex index = m_list->currentIndex();
    if (m_filtering || !index.isValid())
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
    m_count->setText(shown == total ? tr("%n image(s)", nullptr, total)
                                    : tr("%1 of %2 images").arg(shown).arg(total));
}

} // namespace wsss::ui
