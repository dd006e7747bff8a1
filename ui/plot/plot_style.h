#pragma once
// The look the studio's training plots share: the palette's base and text colours for the
// background, axes and labels, a dotted grid, and one fixed sequence of distinct series colours
// (the same loss or run keeps its colour between refreshes because it keeps its index).
#include <QColor>
#include <QString>

class QCustomPlot;
class QWidget;

namespace wsss::ui {

// A plot styled after `parent`'s palette, with both left and right axes themed (the right one
// hidden until a caller shows it).
QCustomPlot *makeThemedPlot(QWidget *parent, const QString &objectName);

// The index-th of a set of colours that stay apart on light and dark backgrounds; wraps around.
QColor seriesColor(int index);

} // namespace wsss::ui
