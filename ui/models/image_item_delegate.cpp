#include "ui/models/image_item_delegate.h"

#include "training/project/studio_project.h"
#include "ui/models/image_list_model.h"

#include <QApplication>
#include <QFontMetrics>
#include <QPainter>
#include <QPainterPath>

#include <algorithm>
#include <cmath>

namespace wsss::ui {

namespace {

QFont chipFont(const QFont &base)
{
    QFont f = base;
    f.setPointSizeF(std::max(6.0, base.pointSizeF() * 0.85));
    return f;
}

// Black or white text, whichever reads better on the chip's colour.
QColor textOn(const QColor &fill)
{
    const double luma = 0.299 * fill.redF() + 0.587 * fill.greenF() + 0.114 * fill.blueF();
    return luma > 0.55 ? Qt::black : Qt::white;
}

// What the first line shows right of the id: the IoU when evaluated, else the confidence.
QString scoreText(const QModelIndex &index)
{
    const double iou = index.data(ImageListModel::IouRole).toDouble();
    if (!std::isnan(iou))
        return QStringLiteral("%1%").arg(100.0 * iou, 0, 'f', 1);
    const double confidence = index.data(ImageListModel::ConfidenceRole).toDouble();
    if (!std::isnan(confidence))
        return QStringLiteral("%1").arg(confidence, 0, 'f', 2);
    return {};
}

} // namespace

ImageItemDelegate::ImageItemDelegate(QObject *parent) : QStyledItemDelegate(parent) {}

QColor ImageItemDelegate::reviewColor(training::ReviewState state)
{
    switch (state) {
    case training::ReviewState::Unreviewed: return {};
    case training::ReviewState::Corrected: return QColor(0x2f, 0x6f, 0xd6);
    case training::ReviewState::Accepted: return QColor(0x2e, 0x9e, 0x4f);
    case training::ReviewState::Rejected: return QColor(0xd9, 0x3a, 0x3a);
    }
    return {};
}

void ImageItemDelegate::paintReviewBadge(QPainter *painter, const QRectF &rect, training::ReviewState state)
{
    const QColor fill = reviewColor(state);
    if (!fill.isValid() || rect.isEmpty())
        return;
    painter->save();
    painter->setRenderHint(QPainter::Antialiasing, true);
    painter->setPen(QPen(Qt::white, 1.5));
    painter->setBrush(fill);
    painter->drawEllipse(rect.adjusted(0.75, 0.75, -0.75, -0.75));

    // The glyph, in units of the radius around the centre.
    const QPointF c = rect.center();
    const double s = rect.width() / 2;
    const auto at = [&](double x, double y) { return c + QPointF(x * s, y * s); };
    painter->setPen(QPen(Qt::white, std::max(1.5, 0.26 * s), Qt::SolidLine, Qt::RoundCap, Qt::RoundJoin));
    painter->setBrush(Qt::NoBrush);
    switch (state) {
    case training::ReviewState::Unreviewed:
        break;
    case training::ReviewState::Corrected: {
        // A pencil lying on the diagonal: a body and a pointed tip at the lower left.
        const QPointF along(0.7071, -0.7071), across(0.7071 * 0.18 * s, 0.7071 * 0.18 * s);
        const QPointF tip = at(-0.5, 0.5), bodyStart = tip + along * (0.35 * s), bodyEnd = at(0.45, -0.45);
        painter->setPen(Qt::NoPen);
        painter->setBrush(Qt::white);
        painter->drawPolygon(QPolygonF{bodyStart + across, bodyEnd + across, bodyEnd - across, bodyStart - across});
        painter->drawPolygon(QPolygonF{tip, bodyStart + across * 0.9, bodyStart - across * 0.9});
        break;
    }
    case training::ReviewState::Accepted:
        painter->drawPolyline(QPolygonF{at(-0.42, 0.02), at(-0.12, 0.32), at(0.42, -0.3)});
        break;
    case training::ReviewState::Rejected:
        painter->drawLine(at(-0.32, -0.32), at(0.32, 0.32));
        painter->drawLine(at(-0.32, 0.32), at(0.32, -0.32));
        break;
    }
    painter->restore();
}

QRect ImageItemDelegate::reviewBadgeRect(const QStyleOptionViewItem &option, const QModelIndex &index) const
{
    const auto state = static_cast<training::ReviewState>(index.data(ImageListModel::ReviewRole).toInt());
    if (state == training::ReviewState::Unreviewed)
        return {};
    // Over the thumbnail's corner, overhanging it by a little into the padding.
    const QRect r = option.rect;
    const QRect box(r.left() + kPadding, r.top() + (r.height() - kThumb) / 2, kThumb, kThumb);
    return QRect(box.right() - kBadge + 3, box.bottom() - kBadge + 3, kBadge, kBadge);
}

QVector<QRect> ImageItemDelegate::chipRects(const QStyleOptionViewItem &option, const QModelIndex &index) const
{
    QVector<QRect> rects;
    const QStringList names = index.data(ImageListModel::LabelNamesRole).toStringList();
    const QFontMetrics fm(chipFont(option.font));
    const QRect r = option.rect;
    const int left = r.left() + kPadding + kThumb + 2 * kPadding;
    const int height = fm.height() + 2;
    const int top = r.top() + kPadding + QFontMetrics(option.font).height() + 4;
    int x = left;
    for (const QString &name : names) {
        const int width = fm.horizontalAdvance(name) + 10;
        if (x + width > r.right() - kPadding && x > left)
            break;
        rects << QRect(x, top, width, height);
        x += width + 4;
    }
    return rects;
}

void ImageItemDelegate::paint(QPainter *painter, const QStyleOptionViewItem &option, const QModelIndex &index) const
{
    QStyleOptionViewItem opt = option;
    initStyleOption(&opt, index);
    opt.text.clear(); // the background and selection from the style, the content drawn here
    opt.icon = QIcon();
    const QWidget *widget = option.widget;
    QStyle *style = widget ? widget->style() : QApplication::style();
    style->drawControl(QStyle::CE_ItemViewItem, &opt, painter, widget);

    painter->save();
    painter->setRenderHint(QPainter::Antialiasing, true);
    const QRect r = option.rect;
    const bool selected = option.state & QStyle::State_Selected;
    const QPalette::ColorGroup group = option.state & QStyle::State_Active ? QPalette::Active : QPalette::Inactive;
    const QColor text = option.palette.color(group, selected ? QPalette::HighlightedText : QPalette::Text);

    // Thumbnail, centred in its square; a placeholder while it loads.
    const QRect box(r.left() + kPadding, r.top() + (r.height() - kThumb) / 2, kThumb, kThumb);
    const QImage thumb = index.data(ImageListModel::ThumbnailRole).value<QImage>();
    if (thumb.isNull()) {
        painter->fillRect(box, option.palette.color(QPalette::Mid));
    } else {
        const QSize s = thumb.size().scaled(box.size(), Qt::KeepAspectRatio);
        const QRect target(box.left() + (box.width() - s.width()) / 2, box.top() + (box.height() - s.height()) / 2,
                           s.width(), s.height());
        painter->drawImage(target, thumb);
    }
    paintReviewBadge(painter, reviewBadgeRect(option, index),
                     static_cast<training::ReviewState>(index.data(ImageListModel::ReviewRole).toInt()));

    // Id, and the score right-aligned on the same line.
    const QFontMetrics fm(option.font);
    const int textLeft = box.right() + 1 + 2 * kPadding;
    QRect line(textLeft, r.top() + kPadding, r.right() - kPadding - textLeft, fm.height());
    painter->setPen(text);
    const QString score = scoreText(index);
    if (!score.isEmpty()) {
        painter->drawText(line, Qt::AlignRight | Qt::AlignVCenter, score);
        line.setRight(line.right() - fm.horizontalAdvance(score) - kPadding);
    }
    QFont bold = option.font;
    bold.setBold(true);
    painter->setFont(bold);
    const QString id = index.data(ImageListModel::IdRole).toString();
    painter->drawText(line, Qt::AlignLeft | Qt::AlignVCenter, QFontMetrics(bold).elidedText(id, Qt::ElideMiddle, line.width()));

    // Label chips in the class colours.
    const QStringList names = index.data(ImageListModel::LabelNamesRole).toStringList();
    const QVector<QColor> colors = index.data(ImageListModel::LabelColorsRole).value<QVector<QColor>>();
    const QVector<QRect> chips = chipRects(option, index);
    painter->setFont(chipFont(option.font));
    for (int i = 0; i < chips.size(); ++i) {
        const QColor fill = i < colors.size() ? colors[i] : option.palette.color(QPalette::Mid);
        QPainterPath path;
        path.addRoundedRect(QRectF(chips[i]), 4, 4);
        painter->fillPath(path, fill);
        painter->setPen(textOn(fill));
        painter->drawText(chips[i], Qt::AlignCenter, names.value(i));
    }
    if (chips.size() < names.size()) {
        const int x = chips.isEmpty() ? textLeft : chips.back().right() + 4;
        painter->setPen(text);
        painter->drawText(QRect(x, chips.isEmpty() ? line.bottom() + 4 : chips.back().top(), r.right() - x, fm.height()),
                          Qt::AlignLeft | Qt::AlignVCenter, QStringLiteral("+%1").arg(names.size() - chips.size()));
    }
    painter->restore();
}

QSize ImageItemDelegate::sizeHint(const QStyleOptionViewItem &option, const QModelIndex &index) const
{
    const QFontMetrics fm(option.font);
    const QFontMetrics chips(chipFont(option.font));
    int chipWidth = 0;
    for (const QString &name : index.data(ImageListModel::LabelNamesRole).toStringList())
        chipWidth += chips.horizontalAdvance(name) + 14;
    const int textWidth = std::max(fm.horizontalAdvance(index.data(ImageListModel::IdRole).toString()) + 60, chipWidth);
    const int height = std::max(kThumb, fm.height() + 4 + chips.height() + 2) + 2 * kPadding;
    return QSize(kPadding + kThumb + 2 * kPadding + textWidth + kPadding, height);
}

} // namespace wsss::ui
