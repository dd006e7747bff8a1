#include "ui/plot/plot_style.h"

#include "ui/plot/qcustomplot_wrapper.h"

#include <array>

namespace wsss::ui {

QCustomPlot *makeThemedPlot(QWidget *parent, const QString &objectName)
{
    auto *plot = new QCustomPlot(parent);
    plot->setObjectName(objectName);
    plot->setBackground(parent->palette().base());
    plot->axisRect()->setBackground(parent->palette().base());
    const QColor text = parent->palette().color(QPalette::Text);
    for (QCPAxis *axis : {plot->xAxis, plot->yAxis, plot->yAxis2}) {
        axis->setBasePen(QPen(text));
        axis->setTickPen(QPen(text));
        axis->setSubTickPen(QPen(text));
        axis->setTickLabelColor(text);
        axis->setLabelColor(text);
        axis->grid()->setPen(QPen(QColor(128, 128, 128, 70), 0, Qt::DotLine));
    }
    plot->yAxis2->grid()->setVisible(false); // one grid: the left axis's
    plot->legend->setBrush(QBrush(QColor(255, 255, 255, 200)));
    plot->legend->setTextColor(Qt::black); // on the legend's own light brush
    return plot;
}

QColor seriesColor(int index)
{
    // Tableau 10: distinct hues of similar weight, readable on white and on dark grey.
    static const std::array<QColor, 10> kColors = {
        QColor(31, 119, 180), QColor(255, 127, 14), QColor(44, 160, 44),  QColor(214, 39, 40),
        QColor(148, 103, 189), QColor(140, 86, 75), QColor(227, 119, 194), QColor(127, 127, 127),
        QColor(188, 189, 34),  QColor(23, 190, 207)};
    const int n = static_cast<int>(kColors.size());
    return kColors[static_cast<size_t>(((index % n) + n) % n)];
}

} // namespace wsss::ui
