#include "ui/models/image_list_model.h"

namespace wsss::ui {

ImageListModel::ImageListModel(QObject *parent) : QAbstractListModel(parent) {}

void ImageListModel::setDataset(const wsss::vision::VocDataset &dataset)
{
    beginResetModel();
    m_dataset = dataset;
    endResetModel();
}

int ImageListModel::rowCount(const QModelIndex &parent) const
{
    // A list: only the invisible root has children.
    return parent.isValid() ? 0 : static_cast<int>(m_dataset.items.size());
}

QVariant ImageListModel::data(const QModelIndex &index, int role) const
{
    if (!index.isValid() || index.row() < 0 || index.row() >= rowCount())
        return {};
    const auto &item = m_dataset.items[static_cast<size_t>(index.row())];
    switch (role) {
    case Qt::DisplayRole:
    case IdRole:
        return QString::fromStdString(item.id);
    case Qt::ToolTipRole: {
        const QStringList names = labelNames(index.row());
        return names.isEmpty() ? tr("no labels") : names.join(QStringLiteral(", "));
    }
    case LabelsRole:
        return QVariant::fromValue(QVector<int>(item.labels.begin(), item.labels.end()));
    case LabelNamesRole:
        return labelNames(index.row());
    case ImagePathRole:
        return QString::fromStdString(item.imagePath);
    case MaskPathRole:
        return QString::fromStdString(item.maskPath);
    default:
        return {};
    }
}

QHash<int, QByteArray> ImageListModel::roleNames() const
{
    QHash<int, QByteArray> names = QAbstractListModel::roleNames();
    names[IdRole] = "imageId";
    names[LabelsRole] = "labels";
    names[LabelNamesRole] = "labelNames";
    names[ImagePathRole] = "imagePath";
    names[MaskPathRole] = "maskPath";
    return names;
}

int ImageListModel::rowOf(const QString &id) const
{
    const std::string key = id.toStdString();
    for (size_t i = 0; i < m_dataset.items.size(); ++i)
        if (m_dataset.items[i].id == key)
            return static_cast<int>(i);
    return -1;
}

QStringList ImageListModel::labelNames(int row) const
{
    QStringList names;
    if (row < 0 || row >= rowCount())
        return names;
    const auto &classes = m_dataset.labelMap.classes;
    for (int label : m_dataset.items[static_cast<size_t>(row)].labels) {
        if (label >= 0 && label < static_cast<int>(classes.size()))
            names << QString::fromStdString(classes[static_cast<size_t>(label)].name);
        else
            names << QString::number(label);
    }
    return names;
}

} // namespace wsss::ui
