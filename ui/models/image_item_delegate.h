#pragma once
// ImageItemDelegate: one dataset row as the panel draws it — the thumbnail on the left, the image
// id with its IoU or confidence (when known) on the first line, and a chip per label, filled with
// the class's palette colour, on the second. Every row has the same height, so views can set
// uniformItemSizes. Reads only ImageListModel's roles.
#include <QStyledItemDelegate>

namespace wsss::ui {

class ImageItemDelegate : public QStyledItemDelegate {
    Q_OBJECT
public:
    explicit ImageItemDelegate(QObject *parent = nullptr);

    void paint(QPainter *painter, const QStyleOptionViewItem &option, const QModelIndex &index) const override;
    QSize sizeHint(const QStyleOptionViewItem &option, const QModelIndex &index) const override;

    // Where the label chips of a row go inside its rect, one per label in LabelsRole order; a chip
    // that does not fit is left out (the row's tooltip lists every label).
    QVector<QRect> chipRects(const QStyleOptionViewItem &option, const QModelIndex &index) const;

private:
    static constexpr int kPadding = 4;
    static constexpr int kThumb = 48;
};

} // namespace wsss::ui
