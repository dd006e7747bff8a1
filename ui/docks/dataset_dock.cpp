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
        m_proxy->setFilterFixedString(text);
        updateCount();
    });
    connect(m_list->selectionModel(), &QItemSelectionModel::currentChanged, this,
            [this](const QModelIndex &, const QModelIndex &) { emitCurrent(); });
    updateCount();
}

void DatasetDock::setDataset(const wsss::vision::VocDataset &dataset)
{
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

QString DatasetDock::currentId() const
{
    return m_list->currentIndex().data(ImageListModel::IdRole).toString();
}

void DatasetDock::emitCurrent()
{
    const QModelIndex index = m_list->currentIndex();
    if (!index.isValid())
        return;
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
