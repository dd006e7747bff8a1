#pragma once
// ImageListModel: the images of the open dataset, one row each (display = image id), with what
// the dataset panel shows and sorts by: label names and palette colours, a thumbnail (loaded
// lazily off the GUI thread), the classifier's confidence and the pseudo-mask's IoU where the
// engine has reported them, and each image's review state in the open project. Read-only for
// views; setDataset() replaces the whole list with a model reset (every image unreviewed again),
// setImageIous() / setImageScores() / setReviewState(s)() update rows with dataChanged on their role.
#include "training/project/studio_project.h"
#include "vision/io/voc_reader.h"

#include <QAbstractListModel>
#include <QColor>
#include <QHash>
#include <QStringList>
#include <QVector>

#include <map>
#include <string>
#include <unordered_map>
#include <vector>

namespace wsss::ui {

class ThumbnailCache;

class ImageListModel : public QAbstractListModel {
    Q_OBJECT
public:
    enum Role {
        IdRole = Qt::UserRole + 1, // QString
        LabelsRole,                // QVector<int>, class indices 1..K
        LabelNamesRole,            // QStringList
        ImagePathRole,             // QString
        MaskPathRole,              // QString, empty when the image has no ground truth
        LabelColorsRole,           // QVector<QColor>, the palette colour of each label, as LabelsRole
        ThumbnailRole,             // QImage; null while it loads (thumbnailsChanged follows)
        ConfidenceRole,            // double, the classifier's confidence; NaN when not scored
        IouRole,                   // double, the pseudo-mask's IoU from the last evaluation; NaN when none
        ReviewRole,                // int, the training::ReviewState of the image in the open project
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
    // The class names of the dataset, background first.
    QStringList classNames() const;
    QColor classColor(int classIndex) const;

    // Per-image IoU of the pseudo-masks (an EvaluateJob's result), by image id; ids not in the
    // list are ignored, images not named lose their IoU.
    void setImageIous(const std::unordered_map<std::string, double> &ious);
    bool hasIous() const { return m_iouCount > 0; }
    // The classifier's sigmoid scores of one image (per foreground class, k-1 for class k); its
    // confidence is the lowest score among its labelled classes (how sure the classifier is of
    // its weakest label), or the highest score when it has no labels.
    void setImageScores(const std::string &id, const std::vector<float> &scores);
    int scoredCount() const { return m_scoredCount; }

    // The review states of the open project, all at once: images not named are unreviewed, ids
    // not in the list are ignored. setDataset() resets every image to unreviewed, so call this
    // after it.
    void setReviewStates(const std::map<std::string, wsss::training::ReviewState> &states);
    // One image's state (an undoable "Mark …" or its undo); dataChanged for that row only, and
    // nothing when the id is unknown or the state unchanged.
    void setReviewState(const std::string &id, wsss::training::ReviewState state);
    wsss::training::ReviewState reviewState(int row) const;

    ThumbnailCache *thumbnails() const { return m_thumbnails; }

private:
    void thumbnailReady(const QString &path);

    wsss::vision::VocDataset m_dataset;
    std::unordered_map<std::string, int> m_rows; // id → row
    QHash<QString, int> m_pathRows;              // image path → row, for thumbnail arrivals
    std::vector<double> m_iou, m_confidence;     // per row, NaN when unknown
    std::vector<wsss::training::ReviewState> m_review; // per row
    int m_iouCount = 0, m_scoredCount = 0;
    ThumbnailCache *m_thumbnails = nullptr;
};

} // namespace wsss::ui
