#pragma once
// ImageListModel: the images of the open dataset, one row each (display = image id). Read-only;
// setDataset() replaces the whole list with a model reset.
#include "vision/io/voc_reader.h"

#include <QAbstractListModel>
#include <QStringList>
#include <QVector>

namespace wsss::ui {

class ImageListModel : public QAbstractListModel {
    Q_OBJECT
public:
    enum Role {
        IdRole = Qt::UserRole + 1, // QString
        LabelsRole,                // QVector<int>, class indices 1..K
        LabelNamesRole,            // QStringList
        ImagePathRole,             // QString
        MaskPathRole,              // QString, empty when the image has no ground truth
    };

    explicit ImageListModel(QObject *parent = nullptr);

    void setDataset(const wsss::vision::VocDataset &dataset);
    const wsss::vision::VocDataset &dataset() const { return m_dataset; }

    int rowCount(const QModelIndex &parent = QModelIndex()) const override;
    QVariant data(const QModelIndex &index, int role = Qt::DisplayRole) const override;
    QHash<int, QByteArray> roleNames() const override;

    // The row of an image id, or -1.
    int rowOf(const QString &id) const;
    QStringList labelNames(int row) const;

private:
    wsss::vision::VocDataset m_dataset;
};

} // namespace wsss::ui
