#pragma once
// EvaluationDock: how the model's pseudo-masks score on a split with ground truth (the engine's
// EvaluateJob). Three views side by side: mIoU against the background threshold with the best
// marked and the current threshold as a line (click the curve to pick a threshold), per-class
// IoU / FPR / FNR bars at the evaluated threshold, and the per-image IoU list (worst first; a
// click opens the image). Holds the result only; the main window runs the job.
#include "training/engine/events.h"

#include <QDockWidget>

#include <memory>

class QCPGraph;
class QCPItemStraightLine;
class QCPItemText;
class QCustomPlot;
class QLabel;
class QPushButton;
class QTableWidget;

namespace wsss::ui {

class EvaluationDock : public QDockWidget {
    Q_OBJECT
public:
    explicit EvaluationDock(QWidget *parent = nullptr);

    void setResult(std::shared_ptr<const wsss::training::EvaluationResult> result);
    const std::shared_ptr<const wsss::training::EvaluationResult> &result() const { return m_result; }
    // The threshold the canvas uses now: a vertical line on the sweep plot.
    void setCurrentThreshold(double threshold);
    // While a job runs: the buttons switch and the summary shows progress.
    void setRunning(bool running);
    void setProgress(qint64 done, qint64 total);

    // For tests and screenshots: what the plots hold.
    int sweepPointCount() const;
    double markedBestThreshold() const; // NaN when nothing is marked
    int classBarCount() const;
    QTableWidget *imageTable() const { return m_images; }
    QCustomPlot *sweepPlot() const { return m_sweepPlot; }

Q_SIGNALS:
    void evaluateRequested();
    void cancelRequested();
    void imageActivated(const QString &id);
    void thresholdPicked(double threshold);

private:
    QString decidedBy(const wsss::training::EvaluationResult &r) const; // "at t = 0.45" or "with its own background"
    void showSweep();
    void showClasses();
    void showImages();

    std::shared_ptr<const wsss::training::EvaluationResult> m_result;
    double m_currentThreshold = wsss::vision::kDefaultBgThreshold;

    QLabel *m_summary = nullptr;
    QPushButton *m_evaluate = nullptr;
    QPushButton *m_cancel = nullptr;
    QPushButton *m_useBest = nullptr;
    QCustomPlot *m_sweepPlot = nullptr;
    QCPGraph *m_sweepGraph = nullptr;
    QCPGraph *m_bestGraph = nullptr;
    QCPItemStraightLine *m_currentLine = nullptr;
    QCPItemText *m_bestLabel = nullptr;
    QCPItemText *m_noSweepLabel = nullptr; // a method that scores the background: nothing to sweep
    QCustomPlot *m_classPlot = nullptr;
    int m_classBars = 0;
    QTableWidget *m_images = nullptr;
};

} // namespace wsss::ui
