#include "ui/models/image_list_model.h"

#include "ui/models/thumbnail_cache.h"

#include <QImage>

#include <algorithm>
#include <cmath>
#include <limits>

namespace wsss::ui {

namespace {
constexpr double kUnknown = std::numeric_limits<double>::quiet_NaN();
}

ImageListModel::ImageListModel(QObject *parent) : QAbstractListModel(parent)
{
    m_thumbnails = new ThumbnailCache(QSize(48, 48), this);
    connect(m_thumbnails, &ThumbnailCache::thumbnailReady, this, &ImageListModel::thumbnailReady);
}

void ImageListModel::setDataset(const wsss::vision::VocDataset &dataset)
{
    beginResetModel();
    m_thumbnails->clear();
    m_dataset = dataset;
    m_rows.clear();
    m_pathRows.clear();
    const size_t n = m_dataset.items.size();
    for (size_t i = 0; i < n; ++i) {
        m_rows.emplace(m_dataset.items[i].id, static_cast<int>(i));
        m_pathRows.insert(QString::fromStdString(m_dataset.items[i].imagePath), static_cast<int>(i));
    }
    m_iou.assign(n, kUnknown);
    m_confidence.assign(n, kUnknown);
    m_review.assign(n, training::ReviewState::Unreviewed);
    m_iouCount = m_scoredCount = 0;
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
    const size_t row = static_cast<size_t>(index.row());
    const auto &item = m_dataset.items[row];
    switch (role) {
    case Qt::DisplayRole:
    case IdRole:
        return QString::fromStdString(item.id);
    case Qt::ToolTipRole: {
        const QStringList names = labelNames(index.row());
        QString tip = names.isEmpty() ? tr("no labels") : names.join(QStringLiteral(", "));
        if (!std::isnan(m_confidence[row]))
            tip += tr("\nconfidence %1").arg(m_confidence[row], 0, 'f', 3);
        if (!std::isnan(m_iou[row]))
            tip += tr("\nIoU %1%").arg(100.0 * m_iou[row], 0, 'f', 1);
        if (m_review[row] != training::ReviewState::Unreviewed)
            tip += tr("\nreview: %1").arg(QString::fromStdString(training::reviewStateName(m_review[row])));
        return tip;
    }
    case LabelsRole:
        return QVariant::fromValue(QVector<int>(item.labels.begin(), item.labels.end()));
    case LabelNamesRole:
        return labelNames(index.row());
    case LabelColorsRole: {
        QVector<QColor> colors;
        for (int label : item.labels)
            colors << classColor(label);
        return QVariant::fromValue(colors);
    }
    case ImagePathRole:
        return QString::fromStdString(item.imagePath);
    case MaskPathRole:
        return QString::fromStdString(item.maskPath);
    case ThumbnailRole:
        return m_thumbnails->thumbnail(QString::fromStdString(item.imagePath));
    case ConfidenceRole:
        return m_confidence[row];
    case IouRole:
        return m_iou[row];
    case ReviewRole:
        return static_cast<int>(m_review[row]);
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
    names[LabelColorsRole] = "labelColors";
    names[ThumbnailRole] = "thumbnail";
    names[ConfidenceRole] = "confidence";
    names[IouRole] = "iou";
    names[ReviewRole] = "review";
    return names;
}

int ImageListModel::rowOf(const QString &id) const
{
    const auto it = m_rows.find(id.toStdString());
    return it == m_rows.end() ? -1 : it->second;
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

QStringList ImageListModel::classNames() const
{
    QStringList names;
    for (const auto &c : m_dataset.labelMap.classes)
        names << QString::fromStdString(c.name);
    return names;
}

QColor ImageListModel::classColor(int classIndex) const
{
    const auto &classes = m_dataset.labelMap.classes;
    const auto rgb = classIndex >= 0 && classIndex < static_cast<int>(classes.size())
                         ? classes[static_cast<size_t>(classIndex)].color
                         : wsss::vision::vocPaletteColor(std::clamp(classIndex, 0, 255));
    return QColor(rgb[0], rgb[1], rgb[2]);
}

void ImageListModel::setImageIous(const std::unordered_map<std::string, double> &ious)
{
    m_iouCount = 0;
    for (const auto &[id, row] : m_rows) {
        const auto it = ious.find(id);
        m_iou[static_cast<size_t>(row)] = it == ious.end() ? kUnknown : it->second;
        if (it != ious.end() && !std::isnan(it->second))
            ++m_iouCount;
    }
    if (rowCount() > 0)
        Q_EMIT dataChanged(index(0), index(rowCount() - 1), {IouRole, Qt::ToolTipRole});
}

void ImageListModel::setImageScores(const std::string &id, const std::vector<float> &scores)
{
    const auto it = m_rows.find(id);
    if (it == m_rows.end() || scores.empty())
        return;
    const int row = it->second;
    const auto &labels = m_dataset.items[static_cast<size_t>(row)].labels;
    double confidence = kUnknown;
    for (int label : labels) {
        const int k = label - 1;
        if (k >= 0 && k < static_cast<int>(scores.size()))
            confidence = std::isnan(confidence) ? scores[static_cast<size_t>(k)]
                                                : std::min<double>(confidence, scores[static_cast<size_t>(k)]);
    }
    if (std::isnan(confidence))
        confidence = *std::max_element(scores.begin(), scores.end());
    double &slot = m_confidence[static_cast<size_t>(row)];
    if (slot == confidence)
        return;
    if (std::isnan(slot))
        ++m_scoredCount;
    slot = confidence;
    Q_EMIT dataChanged(index(row), index(row), {ConfidenceRole, Qt::ToolTipRole});
}

void ImageListModel::setReviewStates(const std::map<std::string, training::ReviewState> &states)
{
    for (const auto &[id, row] : m_rows) {
        const auto it = states.find(id);
        m_review[static_cast<size_t>(row)] = it == states.end() ? training::ReviewState::Unreviewed : it->second;
    }
    if (rowCount() > 0)
        Q_EMIT dataChanged(index(0), index(rowCount() - 1), {ReviewRole, Qt::ToolTipRole});
}

void ImageListModel::setReviewState(const std::string &id, training::ReviewState state)
{
    const auto it = m_rows.find(id);
    if (it == m_rows.end() || m_review[static_cast<size_t>(it->second)] == state)
        return;
    m_review[static_cast<size_t>(it->second)] = state;
    Q_EMIT dataChanged(index(it->second), index(it->second), {ReviewRole, Qt::ToolTipRole});
}

training::ReviewState ImageListModel::reviewState(int row) const
{
    return row >= 0 && row < rowCount() ? m_review[static_cast<size_t>(row)] : training::ReviewState::Unreviewed;
}

void ImageListModel::thumbnailReady(const QString &path)
{
    const auto it = m_pathRows.constFind(path);
    if (it == m_pathRows.constEnd())
        return;
    Q_EMIT dataChanged(index(*it), index(*it), {ThumbnailRole});
}

} // namespace wsss::ui
