#include "ui/models/image_filter_proxy.h"

#include "ui/models/image_list_model.h"

#include <cmath>

namespace wsss::ui {

ImageFilterProxy::ImageFilterProxy(QObject *parent) : QSortFilterProxyModel(parent)
{
    // Only a change of the sort role re-sorts: thumbnails arriving leave the order alone.
    setSortRole(ImageListModel::IdRole);
    setFilterRole(ImageListModel::IdRole);
    setDynamicSortFilter(true);
    sort(0, Qt::AscendingOrder);
}

void ImageFilterProxy::setClassFilter(int classIndex)
{
    if (classIndex == m_class)
        return;
    m_class = classIndex;
    invalidateFilter();
}

void ImageFilterProxy::setIdFilter(const QString &text)
{
    if (text == m_idText)
        return;
    m_idText = text;
    invalidateFilter();
}

void ImageFilterProxy::setReviewFilter(int state)
{
    if (state == m_review)
        return;
    m_review = state;
    invalidateFilter();
}

void ImageFilterProxy::setSortKey(SortKey key)
{
    if (key == m_key)
        return;
    m_key = key;
    switch (key) {
    case SortKey::Id: setSortRole(ImageListModel::IdRole); break;
    case SortKey::Confidence: setSortRole(ImageListModel::ConfidenceRole); break;
    case SortKey::Iou: setSortRole(ImageListModel::IouRole); break;
    }
    invalidate();
    sort(0, Qt::AscendingOrder);
}

bool ImageFilterProxy::filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const
{
    const QModelIndex index = sourceModel()->index(sourceRow, 0, sourceParent);
    if (m_class >= 0 && !index.data(ImageListModel::LabelsRole).value<QVector<int>>().contains(m_class))
        return false;
    if (m_review >= 0 && index.data(ImageListModel::ReviewRole).toInt() != m_review)
        return false;
    return m_idText.isEmpty()
           || index.data(ImageListModel::IdRole).toString().contains(m_idText, Qt::CaseInsensitive);
}

int ImageFilterProxy::insertionRow(const QModelIndex &sourceIndex) const
{
    // The rows shown are sorted by lessThan (a strict order: ids break ties), so a binary search
    // finds the place; unsorted, they keep the source's order.
    const auto before = [&](const QModelIndex &listed) {
        if (sortColumn() < 0)
            return listed.row() < sourceIndex.row();
        return sortOrder() == Qt::AscendingOrder ? lessThan(listed, sourceIndex) : lessThan(sourceIndex, listed);
    };
    int low = 0, high = rowCount();
    while (low < high) {
        const int mid = low + (high - low) / 2;
        if (before(mapToSource(index(mid, 0))))
            low = mid + 1;
        else
            high = mid;
    }
    return low;
}

bool ImageFilterProxy::lessThan(const QModelIndex &left, const QModelIndex &right) const
{
    const QString leftId = left.data(ImageListModel::IdRole).toString();
    const QString rightId = right.data(ImageListModel::IdRole).toString();
    if (m_key != SortKey::Id) {
        const double a = left.data(sortRole()).toDouble();
        const double b = right.data(sortRole()).toDouble();
        const bool aKnown = !std::isnan(a), bKnown = !std::isnan(b);
        if (aKnown != bKnown)
            return aKnown; // scored images first
        if (aKnown && a != b)
            return a < b;
    }
    return leftId < rightId;
}

} // namespace wsss::ui
