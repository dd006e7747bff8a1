#include "ui/docks/evaluation_dock.h"

#include "ui/plot/plot_style.h"

#include "ui/plot/qcustomplot_wrapper.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSplitter>
#include <QTableWidget>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <limits>

namespace wsss::ui {

namespace tr_ = wsss::training;

namespace {

QCustomPlot *makePlot(QWidget *parent, const QString &name)
{
    QCustomPlot *plot = makeThemedPlot(parent, name);
    plot->setMinimumSize(220, 160);
    return plot;
}

// Three columns of bars per class, in the colours used across the studio's plots.
const QColor kIouColor(52, 120, 200), kFprColor(220, 120, 40), kFnrColor(150, 80, 170);

class NumberItem : public QTableWidgetItem {
public:
    explicit NumberItem(double value) : QTableWidgetItem(QString::number(100 * value, 'f', 1))
    {
        setData(Qt::UserRole, value);
        setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
    }
    bool operator<(const QTableWidgetItem &other) const override
    {
        return data(Qt::UserRole).toDouble() < other.data(Qt::UserRole).toDouble();
    }
};

} // namespace

EvaluationDock::EvaluationDock(QWidget *parent) : QDockWidget(tr("Evaluation"), parent)
{
    setObjectName(QStringLiteral("EvaluationDock"));
    auto *body = new QWidget(this);
    auto *layout = new QVBoxLayout(body);
    layout->setContentsMargins(6, 4, 6, 6);

    auto *top = new QHBoxLayout;
    m_evaluate = new QPushButton(tr("Evaluate split"), body);
    m_evaluate->setObjectName(QStringLiteral("evaluateButton"));
    m_evaluate->setToolTip(tr("Score the pseudo-masks of every image with a ground-truth mask in the open split"));
    m_cancel = new QPushButton(tr("Cancel"), body);
    m_cancel->setObjectName(QStringLiteral("evaluateCancelButton"));
    m_cancel->setEnabled(false);
    m_useBest = new QPushButton(tr("Use best threshold"), body);
    m_useBest->setObjectName(QStringLiteral("useBestButton"));
    m_useBest->setEnabled(false);
    m_summary = new QLabel(tr("No evaluation yet: open a split with masks and a checkpoint, then Evaluate."), body);
    m_summary->setObjectName(QStringLiteral("evaluationSummary"));
    m_summary->setTextInteractionFlags(Qt::TextSelectableByMouse);
    top->addWidget(m_evaluate);
    top->addWidget(m_cancel);
    top->addWidget(m_useBest);
    top->addWidget(m_summary, 1);
    layout->addLayout(top);

    auto *split = new QSplitter(Qt::Horizontal, body);
    m_sweepPlot = makePlot(split, QStringLiteral("sweepPlot"));
    m_sweepPlot->xAxis->setLabel(tr("background threshold"));
    m_sweepPlot->yAxis->setLabel(tr("mIoU %"));
    m_sweepGraph = m_sweepPlot->addGraph();
    m_sweepGraph->setPen(QPen(kIouColor, 2));
    m_bestGraph = m_sweepPlot->addGraph();
    m_bestGraph->setLineStyle(QCPGraph::lsNone);
    m_bestGraph->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssCircle, QPen(Qt::red, 2), QBrush(Qt::white), 9));
    m_currentLine = new QCPItemStraightLine(m_sweepPlot);
    m_currentLine->setPen(QPen(QColor(120, 120, 120), 1, Qt::DashLine));
    m_bestLabel = new QCPItemText(m_sweepPlot);
    m_bestLabel->setPositionAlignment(Qt::AlignLeft | Qt::AlignBottom);
    m_bestLabel->setColor(Qt::red);
    m_bestLabel->setVisible(false);
    m_noSweepLabel = new QCPItemText(m_sweepPlot);
    m_noSweepLabel->position->setType(QCPItemPosition::ptAxisRectRatio);
    m_noSweepLabel->position->setCoords(0.5, 0.5);
    m_noSweepLabel->setText(tr("No threshold to sweep:\nthe method scores the background itself"));
    m_noSweepLabel->setColor(QColor(90, 90, 90));
    m_noSweepLabel->setVisible(false);
    m_sweepPlot->xAxis->setRange(0, 1);
    m_sweepPlot->yAxis->setRange(0, 100);
    m_sweepPlot->setToolTip(tr("Click to use that background threshold"));
    connect(m_sweepPlot, &QCustomPlot::mousePress, this, [this](QMouseEvent *event) {
        if (!m_result || m_result->sweepMiou.empty() || event->button() != Qt::LeftButton)
            return;
        const double t = m_sweepPlot->xAxis->pixelToCoord(event->position().x());
        if (t >= 0 && t <= 1)
            Q_EMIT thresholdPicked(std::round(t * 100) / 100);
    });

    m_classPlot = makePlot(split, QStringLiteral("classPlot"));
    m_classPlot->yAxis->setLabel(tr("%"));
    m_classPlot->yAxis->setRange(0, 145); // the legend sits above 100
    m_classPlot->yAxis->setTicker(QSharedPointer<QCPAxisTickerFixed>(new QCPAxisTickerFixed));
    qSharedPointerCast<QCPAxisTickerFixed>(m_classPlot->yAxis->ticker())->setTickStep(25);
    m_classPlot->legend->setVisible(true);
    m_classPlot->legend->setFont(QFont(font().family(), std::max(7, font().pointSize() - 2)));
    m_classPlot->legend->setBrush(QBrush(QColor(255, 255, 255, 200)));
    // One row across the top, above the bars (the y range leaves room for it).
    m_classPlot->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
    m_classPlot->legend->setWrap(3);
    m_classPlot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignHCenter);

    m_images = new QTableWidget(0, 2, split);
    m_images->setObjectName(QStringLiteral("imageIouTable"));
    m_images->setHorizontalHeaderLabels({tr("Image"), tr("IoU %")});
    m_images->horizontalHeader()->setSectionResizeMode(0, QHeaderView::Stretch);
    m_images->verticalHeader()->setVisible(false);
    m_images->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_images->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_images->setSelectionMode(QAbstractItemView::SingleSelection);
    m_images->setSortingEnabled(true);
    m_images->setToolTip(tr("Each image's mean IoU over the classes in its ground truth; click to open it"));
    connect(m_images, &QTableWidget::cellClicked, this, [this](int row, int) {
        if (const QTableWidgetItem *item = m_images->item(row, 0))
            Q_EMIT imageActivated(item->text());
    });

    split->addWidget(m_sweepPlot);
    split->addWidget(m_classPlot);
    split->addWidget(m_images);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 4);
    split->setStretchFactor(2, 2);
    layout->addWidget(split, 1);
    setWidget(body);

    connect(m_evaluate, &QPushButton::clicked, this, &EvaluationDock::evaluateRequested);
    connect(m_cancel, &QPushButton::clicked, this, &EvaluationDock::cancelRequested);
    connect(m_useBest, &QPushButton::clicked, this, [this] {
        if (m_result && m_result->bestIndex >= 0)
            Q_EMIT thresholdPicked(m_result->thresholds[static_cast<size_t>(m_result->bestIndex)]);
    });
    setCurrentThreshold(m_currentThreshold);
}

void EvaluationDock::setResult(std::shared_ptr<const tr_::EvaluationResult> result)
{
    m_result = std::move(result);
    showSweep();
    showClasses();
    showImages();
    if (!m_result)
        return;
    const auto &r = *m_result;
    QString text = tr("%1: %n image(s), mIoU %2% %3, FPR %4, FNR %5", nullptr, static_cast<int>(r.images.size()))
                       .arg(QString::fromStdString(r.split))
                       .arg(100 * r.miou, 0, 'f', 1)
                       .arg(decidedBy(r))
                       .arg(r.meanFpr, 0, 'f', 3)
                       .arg(r.meanFnr, 0, 'f', 3);
    // The masks scored are the refined ones the canvas shows.
    const QString crf = r.crfPreset == "psa" ? tr("CRF") : tr("CRF %1").arg(QString::fromStdString(r.crfPreset));
    if (r.parIterations > 0 && r.crf)
        text += tr(" (PAR %1 + %2)").arg(r.parIterations).arg(crf);
    else if (r.parIterations > 0)
        text += tr(" (PAR %1)").arg(r.parIterations);
    else if (r.crf)
        text += tr(" (%1)").arg(crf);
    if (r.bestIndex >= 0)
        text += tr("; best t = %1 (%2%)")
                    .arg(r.thresholds[static_cast<size_t>(r.bestIndex)], 0, 'f', 2)
                    .arg(100 * r.sweepMiou[static_cast<size_t>(r.bestIndex)], 0, 'f', 1);
    if (r.skipped > 0)
        text += tr("; %n skipped", nullptr, r.skipped);
    m_summary->setText(text);
    m_useBest->setEnabled(r.bestIndex >= 0);
}

void EvaluationDock::setCurrentThreshold(double threshold)
{
    m_currentThreshold = threshold;
    m_currentLine->point1->setCoords(threshold, 0);
    m_currentLine->point2->setCoords(threshold, 1);
    m_sweepPlot->replot(QCustomPlot::rpQueuedReplot);
}

void EvaluationDock::setRunning(bool running)
{
    m_evaluate->setEnabled(!running);
    m_cancel->setEnabled(running);
    if (running)
        m_summary->setText(tr("Evaluating…"));
    else if (!m_result)
        m_summary->setText(tr("No evaluation."));
}

void EvaluationDock::setProgress(qint64 done, qint64 total)
{
    if (total > 0)
        m_summary->setText(tr("Evaluating… %1 of %2 images").arg(done).arg(total));
}

int EvaluationDock::sweepPointCount() const
{
    return m_sweepGraph->dataCount();
}

double EvaluationDock::markedBestThreshold() const
{
    if (m_bestGraph->dataCount() != 1)
        return std::numeric_limits<double>::quiet_NaN();
    return m_bestGraph->data()->begin()->key;
}

int EvaluationDock::classBarCount() const
{
    return m_classBars;
}

QString EvaluationDock::decidedBy(const wsss::training::EvaluationResult &r) const
{
    return r.ownBackground ? tr("with its own background") : tr("at t = %1").arg(r.threshold, 0, 'f', 2);
}

void EvaluationDock::showSweep()
{
    m_sweepGraph->data()->clear();
    m_bestGraph->data()->clear();
    m_bestLabel->setVisible(false);
    const bool noSweep = m_result && m_result->ownBackground;
    m_noSweepLabel->setVisible(noSweep);
    m_currentLine->setVisible(!noSweep);
    if (m_result && !m_result->sweepMiou.empty()) {
        const auto &r = *m_result;
        QVector<double> x, y;
        for (size_t i = 0; i < r.sweepMiou.size(); ++i) {
            x << r.thresholds[i];
            y << 100 * r.sweepMiou[i];
        }
        m_sweepGraph->setData(x, y, true);
        if (r.bestIndex >= 0) {
            const double bx = r.thresholds[static_cast<size_t>(r.bestIndex)];
            const double by = 100 * r.sweepMiou[static_cast<size_t>(r.bestIndex)];
            m_bestGraph->addData(bx, by);
            m_bestLabel->position->setCoords(bx, by);
            m_bestLabel->setText(tr(" best %1: %2%").arg(bx, 0, 'f', 2).arg(by, 0, 'f', 1));
            // Keep the label inside the plot on the right half.
            m_bestLabel->setPositionAlignment(bx > 0.6 ? (Qt::AlignRight | Qt::AlignBottom) : (Qt::AlignLeft | Qt::AlignBottom));
            m_bestLabel->setVisible(true);
        }
        const double top = *std::max_element(y.begin(), y.end());
        m_sweepPlot->yAxis->setRange(0, std::min(100.0, std::max(10.0, top * 1.15)));
    }
    m_sweepPlot->replot(QCustomPlot::rpQueuedReplot);
}

void EvaluationDock::showClasses()
{
    m_classPlot->clearPlottables();
    m_classBars = 0;
    if (!m_result) {
        m_classPlot->replot(QCustomPlot::rpQueuedReplot);
        return;
    }
    const auto &r = *m_result;
    // Only the classes present in the ground truth have scores (NaN otherwise).
    QVector<double> keys, iou, fpr, fnr;
    QSharedPointer<QCPAxisTickerText> ticker(new QCPAxisTickerText);
    for (size_t c = 0; c < r.iou.size(); ++c) {
        if (std::isnan(r.iou[c]))
            continue;
        const double key = keys.size();
        keys << key;
        iou << 100 * r.iou[c];
        fpr << 100 * (c < r.fpr.size() ? r.fpr[c] : 0);
        fnr << 100 * (c < r.fnr.size() ? r.fnr[c] : 0);
        ticker->addTick(key, c < r.classNames.size() ? QString::fromStdString(r.classNames[c]) : QString::number(c));
    }
    auto *group = new QCPBarsGroup(m_classPlot);
    auto addBars = [&](const QString &name, const QColor &color, const QVector<double> &values) {
        auto *bars = new QCPBars(m_classPlot->xAxis, m_classPlot->yAxis);
        bars->setName(name);
        bars->setWidth(0.27);
        bars->setPen(Qt::NoPen);
        bars->setBrush(color);
        bars->setData(keys, values, true);
        bars->setBarsGroup(group);
        m_classBars += values.size();
    };
    addBars(tr("IoU"), kIouColor, iou);
    addBars(tr("FPR"), kFprColor, fpr);
    addBars(tr("FNR"), kFnrColor, fnr);
    m_classPlot->xAxis->setTicker(ticker);
    m_classPlot->xAxis->setTickLabelRotation(keys.size() > 6 ? 60 : 0);
    m_classPlot->xAxis->setSubTicks(false);
    m_classPlot->xAxis->setRange(-0.6, std::max(0.6, keys.size() - 0.4));
    m_classPlot->xAxis->setLabel(decidedBy(r));
    m_classPlot->replot(QCustomPlot::rpQueuedReplot);
}

void EvaluationDock::showImages()
{
    m_images->setSortingEnabled(false);
    m_images->clearContents();
    m_images->setRowCount(0);
    if (m_result) {
        const auto &images = m_result->images;
        m_images->setRowCount(static_cast<int>(images.size()));
        for (int row = 0; row < static_cast<int>(images.size()); ++row) {
            const auto &score = images[static_cast<size_t>(row)];
            m_images->setItem(row, 0, new QTableWidgetItem(QString::fromStdString(score.imageId)));
            m_images->setItem(row, 1, new NumberItem(score.miou));
        }
    }
    m_images->setSortingEnabled(true);
    m_images->sortItems(1, Qt::AscendingOrder); // worst first: the images worth a look
}

} // namespace wsss::ui
