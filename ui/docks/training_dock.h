#pragma once
// TrainingDock: one training run watched live — progress with speed and time left, the loss
// curves (one graph per named loss, the learning rate on the right axis), the validation mIoU,
// the run's checkpoints and its log. Fed either by the engine's events of the job started with
// startJob() (the main window forwards them; events of other jobs are ignored), or by follow(),
// which reads a run folder another process writes (`wsss train`) on a timer. Holds no job: its
// buttons only ask, through the signals below.
#include "training/engine/events.h"
#include "ui/training/metrics_follower.h"
#include "ui/training/run_curves.h"

#include <QDockWidget>
#include <QElapsedTimer>
#include <QStringList>

#include <cstdint>
#include <map>
#include <utility>
#include <vector>

class QCPGraph;
class QCustomPlot;
class QLabel;
class QListWidget;
class QPlainTextEdit;
class QProgressBar;
class QPushButton;
class QCheckBox;
class QTimer;

namespace wsss::ui {

class TrainingDock : public QDockWidget {
    Q_OBJECT
public:
    explicit TrainingDock(QWidget *parent = nullptr);

    // A job of the engine trains `runDir` for `totalSteps`: clears the view, enables the buttons.
    void startJob(quint64 jobId, const QString &runDir, qint64 totalSteps);
    void addStep(const wsss::training::TrainingStep &step);
    void addValidation(const wsss::training::TrainingValidated &validation);
    void addCheckpoint(const QString &path, qint64 step);
    void setPaused(bool paused);
    // The job ended: "Finished", "Cancelled at step 120: checkpoint kept", "Failed: …" (in red).
    void endJob(const QString &outcome);
    void appendLog(const QString &line);

    // Watches a run that another process writes: its metrics.jsonl read incrementally and its
    // checkpoints and state from the folder, every kFollowIntervalMs. Stops any watched job.
    void follow(const QString &runDir);
    static constexpr int kFollowIntervalMs = 700;

    quint64 jobId() const { return m_jobId; } // 0 when following or idle
    QString runDir() const { return m_runDir; }
    bool isFollowing() const { return m_following; }
    bool isRunning() const { return m_running; }
    bool isPaused() const { return m_paused; }

    // For tests and screenshots.
    const RunCurves &curves() const { return m_curves; }
    int progressPercent() const;
    QString progressText() const; // "step 120/400 · 3.2 it/s · 1 min 27 s left"
    QString statusText() const;   // what the run is doing, or its outcome
    QStringList checkpointPaths() const; // newest first, as listed
    QCustomPlot *lossPlot() const { return m_lossPlot; }
    QCustomPlot *validationPlot() const { return m_valPlot; }
    QCPGraph *lossGraph(const QString &name) const; // nullptr when the run has no such loss
    QCPGraph *learningRateGraph() const { return m_lrGraph; }
    QCPGraph *validationGraph() const { return m_valGraph; }
    QListWidget *checkpointList() const { return m_checkpoints; }
    QPushButton *pauseButton() const { return m_pause; }
    QPushButton *resumeButton() const { return m_resume; }
    QPushButton *cancelButton() const { return m_cancel; }

    // Loss curves drawn as an exponential moving average (kSmoothing) of the values, or raw.
    // Remembered in QSettings; the curves() keep the raw values either way.
    void setSmoothing(bool on);
    bool smoothing() const;
    static constexpr double kSmoothing = 0.8;

    // "1 min 27 s", "45 s", "2 h 05 min": time left for a human, to the precision that matters.
    static QString formatDuration(double seconds);

Q_SIGNALS:
    void pauseRequested();
    void resumeRequested();
    void cancelRequested();
    void openCheckpointRequested(const QString &path);

private:
    void reset(const QString &runDir, qint64 totalSteps);
    void poll(); // follow mode: read what the other process wrote since the last poll
    void clearCurves();
    void showCurves(bool appendedOnly); // false: every graph takes its series anew
    void fitLossAxis();
    void setProgress(qint64 step, qint64 total, double stepsPerSecond, double secondsLeft);
    void setStatus(const QString &text, bool failure = false);
    void updateButtons();
    void showCheckpoints();

    quint64 m_jobId = 0;
    QString m_runDir;
    bool m_following = false;
    bool m_running = false;
    bool m_paused = false;
    qint64 m_step = 0, m_total = 0;
    RunCurves m_curves;
    std::vector<std::pair<QString, qint64>> m_checkpointSteps; // path, step

    // Follow mode: the metrics read so far, and (elapsed ms, step) samples for the speed.
    MetricsFollower m_follower;
    QString m_lastWarning;
    QElapsedTimer m_followClock;
    std::vector<std::pair<qint64, qint64>> m_speedSamples;
    QTimer *m_followTimer = nullptr;

    QLabel *m_status = nullptr;
    QProgressBar *m_progress = nullptr;
    QPushButton *m_pause = nullptr;
    QPushButton *m_resume = nullptr;
    QPushButton *m_cancel = nullptr;
    QCheckBox *m_smooth = nullptr;
    QCustomPlot *m_lossPlot = nullptr;
    std::map<QString, QCPGraph *> m_lossGraphs;
    QCPGraph *m_lrGraph = nullptr;
    QCustomPlot *m_valPlot = nullptr;
    QCPGraph *m_valGraph = nullptr;
    QListWidget *m_checkpoints = nullptr;
    QPushButton *m_open = nullptr;
    QPlainTextEdit *m_log = nullptr;
};

} // namespace wsss::ui
