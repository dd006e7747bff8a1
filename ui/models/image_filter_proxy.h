#pragma once
// ImageFilterProxy: the dataset panel's view of an ImageListModel — filtered by class, by an id
// substring and by review state (all three must pass), sorted by id, by the classifier's confidence (least confident first) or by the
// pseudo-mask's IoU (worst first, so review starts where the masks are poorest). Images with no
// confidence or IoU yet go last in those orders, by id.
#include <QSortFilterProxyModel>

namespace wsss::ui {

class ImageFilterProxy : public QSortFilterProxyModel {
    Q_OBJECT
public:
    enum class SortKey { Id, Confidence, Iou };

    explicit ImageFilterProxy(QObject *parent = nullptr);

    // Only images labelled with this class (1..K); -1 = every image.
    void setClassFilter(int classIndex);
    int classFilter() const { return m_class; }
    // Only images whose id contains this text (case-insensitive); empty = every image.
    void setIdFilter(const QString &text);
    QString idFilter() const { return m_idText; }
    // Only images in this review state (an int of training::ReviewState); -1 = every image. The
    // filter is live: an image whose state changes leaves or joins the rows at once.
    void setReviewFilter(int state);
    int reviewFilter() const { return m_review; }
    void setSortKey(SortKey key);
    SortKey sortKey() const { return m_key; }

    // The row an image of the source would take in the order shown were it listed: for an image
    // the filters hide, the row that would follow it (rowCount() past the last).
    int insertionRow(const QModelIndex &sourceIndex) const;

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const override;
    bool lessThan(const QModelIndex &left, const QModelIndex &right) const override;

private:
    int m_class = -1;
    QString m_idText;
    int m_review = -1;
    SortKey m_key = SortKey::Id;
};

} // namespace wsss::ui
