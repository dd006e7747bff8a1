#pragma once
// ImageItemDelegate: one dataset row as the panel draws it — the thumbnail on the left, the image
// id with its IoU or confidence (when known) on the first line, and a chip per label, filled with
// the class's palette colour, on the second, and a review badge (corrected, accepted, rejected)
// on the thumbnail's corner. Every row has the same height, so views can set uniformItemSizes.
// Reads only ImageListModel's roles.
#include <QStyledItemDelegate>

namespace wsss::training {
enum class ReviewState; // training/project/studio_project.h
}

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
    // Where a row's review badge goes: a dot over the thumbnail's lower right corner, so the text
    // and chips keep their places; empty for an unreviewed image, which shows none.
    QRect reviewBadgeRect(const QStyleOptionViewItem &option, const QModelIndex &index) const;

    // A state's badge: a dot in reviewColor() with a white glyph (pencil, check, cross) inside a
    // white ring that reads on any thumbnail; nothing for Unreviewed. The panel's review filter
    // draws its icons with it too.
    static void paintReviewBadge(QPainter *painter, const QRectF &rect, wsss::training::ReviewState state);
    // Blue for corrected, green for accepted, red for rejected; invalid for unreviewed.
    static QColor reviewColor(wsss::training::ReviewState state);

private:
    static constexpr int kPadding = 4;
    static constexpr int kThumb = 48;
    static constexpr int kBadge = 16;
};

} // namespace wsss::ui
