#pragma once
// ImageFilterProxy: the dataset panel's view of an ImageListModel — filtered by class and by an
// id substring, sorted by id, by the classifier's confidence (least confident first) or by the
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
    void setSortKey(SortKey key);
    SortKey sortKey() const { return m_key; }

protected:
    bool filterAcceptsRow(int sourceRow, const QModelIndex &sourceParent) const override;
    bool lessThan(const QModelIndex &left, const QModelIndex &right) const override;

private:
    int m_class = -1;
    QString m_idText;
    SortKey m_key = SortKey::Id;
};

} // namespace wsss::ui
