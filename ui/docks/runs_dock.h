#pragma once
// RunsDock: the training runs in one folder (each subfolder that holds a checkpoint or
// metrics), as a table — name, method, backbone, steps, best val mIoU, state — refreshed every
// kRefreshMs while shown. The selected runs' total-loss curves (and val mIoU, where validated)
// overlay in one plot, one colour per run; the current run's checkpoints are listed below.
// Double-clicking a run asks to open its latest checkpoint. Reads the folders only: it never
// writes a run.
#include "training/loop/run_folder.h"
#include "ui/training/metrics_follower.h"
#include "ui/training/run_curves.h"

#include <QDockWidget>
#include <QString>
#include <QStringList>

#include <map>
#include <vector>

class QCustomPlot;
class QLabel;
class QShowEvent;
class QLineEdit;
class QListWidget;
class QTableWidget;
class QTimer;

namespace wsss::ui {

class RunsDock : public QDockWidget {
    Q_OBJECT
public:
    explicit RunsDock(QWidget *parent = nullptr);

    // Lists the runs in `folder` now and remembers it (QSettings) for the next studio.
    void setFolder(const QString &folder);
    QString folder() const { return m_folder; }
    void refresh(); // the table, the selection kept; the curves of the selected runs
    static constexpr int kRefreshMs = 2000;

    // For tests and the main window.
    int runCount() const { return static_cast<int>(m_runs.size()); }
    const std::vector<wsss::training::RunDescription> &runs() const { return m_runs; } // table order
    QTableWidget *table() const { return m_table; }
    QCustomPlot *plot() const { return m_plot; }
    QListWidget *checkpointList() const { return m_checkpoints; }
    void selectRuns(const QStringList &dirs);
    QStringList selectedRunDirs() const;      // in table order
    int overlaidLossCurves() const;           // graphs of total loss in the plot
    int overlaidValidationCurves() const;     // graphs of val mIoU in the plot
    const RunCurves *curves(const QString &dir) const; // a selected run's, once read; else nullptr
    QStringList checkpointPaths() const;      // of the current run, newest first

    enum Column { NameColumn, MethodColumn, BackboneColumn, StepsColumn, BestColumn, StateColumn, ColumnCount };

Q_SIGNALS:
    void openCheckpointRequested(const QString &path);
    void followRequested(const QString &runDir); // "Watch" in the context menu: the training dock follows it
    void resumeRequested(const QString &runDir); // "Resume training" of a stopped run (as `wsss train --resume`)

protected:
    void showEvent(QShowEvent *event) override; // a dock shown again lists what changed meanwhile

private:
    void showRuns();
    void showCurves();
    void showCheckpoints();
    void showContextMenu(const QPoint &pos);
    void browse();
    QString currentRunDir() const;
    const wsss::training::RunDescription *run(const QString &dir) const;

    // Each selected run's metrics, read on from where the last refresh stopped.
    struct Metrics {
        MetricsFollower follower;
        RunCurves curves;
    };
    std::map<QString, Metrics> m_metrics;

    QString m_folder;
    std::vector<wsss::training::RunDescription> m_runs;
    QTimer *m_timer = nullptr;
    QLineEdit *m_folderEdit = nullptr;
    QLabel *m_message = nullptr;
    QTableWidget *m_table = nullptr;
    QCustomPlot *m_plot = nullptr;
    QLabel *m_checkpointTitle = nullptr;
    QListWidget *m_checkpoints = nullptr;
};

} // namespace wsss::ui
