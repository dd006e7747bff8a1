#include "ui/docks/training_dock.h"

#include "training/loop/run_folder.h"
#include "ui/plot/plot_style.h"
#include "ui/plot/qcustomplot_wrapper.h"

#include <QCheckBox>
#include <QDir>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QLabel>
#include <QListWidget>
#include <QPlainTextEdit>
#include <QProgressBar>
#include <QPushButton>
#include <QSettings>
#include <QSplitter>
#include <QTime>
#include <QTimer>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <exception>

namespace wsss::ui {

namespace tr_ = wsss::training;

namespace {

constexpr int kProgressSteps = 1000; // the bar's range: smooth for runs of any length
constexpr int kLogLines = 2000;      // older log lines are dropped
constexpr qint64 kSpeedWindowMs = 30000; // follow mode: speed over the last half minute

const QString kTotal = QStringLiteral("total");
const QString kSmoothKey = QStringLiteral("training/smoothCurves");
const QString kValMiou = QStringLiteral("val_miou");

QString runName(const QString &runDir)
{
    return QFileInfo(QDir::cleanPath(runDir)).fileName();
}

QString speedText(double stepsPerSecond)
{
    if (!(stepsPerSecond > 0) || !std::isfinite(stepsPerSecond))
        return {};
    if (stepsPerSecond >= 1)
        return TrainingDock::tr("%1 it/s").arg(stepsPerSecond, 0, 'f', 1);
    return TrainingDock::tr("%1 s/it").arg(1 / stepsPerSecond, 0, 'f', 1);
}

} // namespace

TrainingDock::TrainingDock(QWidget *parent) : QDockWidget(tr("Training"), parent)
{
    setObjectName(QStringLiteral("TrainingDock"));
    auto *body = new QWidget(this);
    auto *layout = new QVBoxLayout(body);
    layout->setContentsMargins(6, 4, 6, 6);

    auto *top = new QHBoxLayout;
    m_status = new QLabel(tr("No training: start one with Training ▸ New training, or follow a run folder."), body);
    m_status->setObjectName(QStringLiteral("trainingStatus"));
    m_status->setTextInteractionFlags(Qt::TextSelectableByMouse);
    m_status->setWordWrap(true);
    QFont statusFont = m_status->font();
    statusFont.setBold(true);
    m_status->setFont(statusFont);
    m_pause = new QPushButton(tr("Pause"), body);
    m_pause->setObjectName(QStringLiteral("trainingPauseButton"));
    m_pause->setToolTip(tr("Stop between two steps; Resume goes on from there"));
    m_resume = new QPushButton(tr("Resume"), body);
    m_resume->setObjectName(QStringLiteral("trainingResumeButton"));
    m_cancel = new QPushButton(tr("Cancel"), body);
    m_cancel->setObjectName(QStringLiteral("trainingCancelButton"));
    m_cancel->setToolTip(tr("Stop the run; the step reached is saved as its checkpoint"));
    m_smooth = new QCheckBox(tr("Smooth"), body);
    m_smooth->setObjectName(QStringLiteral("trainingSmoothCheck"));
    m_smooth->setToolTip(tr("Draw each loss as a moving average (weight %1) of its values; off: the raw values")
                             .arg(kSmoothing));
    m_smooth->setChecked(QSettings().value(kSmoothKey, true).toBool());
    top->addWidget(m_status, 1);
    top->addWidget(m_smooth);
    top->addWidget(m_pause);
    top->addWidget(m_resume);
    top->addWidget(m_cancel);
    layout->addLayout(top);

    m_progress = new QProgressBar(body);
    m_progress->setObjectName(QStringLiteral("trainingProgress"));
    m_progress->setRange(0, kProgressSteps);
    m_progress->setValue(0);
    m_progress->setTextVisible(true);
    layout->addWidget(m_progress);

    // Plots on the left, checkpoints and log on the right: the dock usually sits in a wide, low
    // bottom area beside the evaluation panel, so it must not need much height.
    auto *split = new QSplitter(Qt::Horizontal, body);
    auto *plots = new QWidget(split);
    // Side by side rather than stacked: each plot keeps the dock's full height.
    auto *plotLayout = new QHBoxLayout(plots);
    plotLayout->setContentsMargins(0, 0, 0, 0);
    plotLayout->setSpacing(2);
    m_lossPlot = makeThemedPlot(plots, QStringLiteral("lossPlot"));
    m_lossPlot->setMinimumSize(260, 70);
    m_lossPlot->xAxis->setLabel(tr("step"));
    m_lossPlot->yAxis->setLabel(tr("loss"));
    m_lossPlot->yAxis2->setVisible(true);
    m_lossPlot->yAxis2->setLabel(tr("learning rate"));
    m_lossPlot->yAxis2->setNumberFormat(QStringLiteral("g"));
    m_lossPlot->yAxis2->setNumberPrecision(2);
    m_lossPlot->legend->setVisible(true);
    m_lossPlot->legend->setFont(QFont(font().family(), std::max(7, font().pointSize() - 1)));
    m_lossPlot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
    // Three entries a row: a method's five or six curves fit a low plot.
    m_lossPlot->legend->setFillOrder(QCPLayoutGrid::foColumnsFirst);
    m_lossPlot->legend->setWrap(3);
    // The learning rate is context, not a loss: grey and dashed, listed last in the legend.
    m_lrGraph = m_lossPlot->addGraph(m_lossPlot->xAxis, m_lossPlot->yAxis2);
    m_lrGraph->setName(tr("learning rate"));
    m_lrGraph->setPen(QPen(QColor(120, 120, 120), 1.2, Qt::DashLine));
    m_lossPlot->setToolTip(tr("Each named loss of the method (\"total\" is what is backpropagated) and, on the "
                              "right axis, the learning rate. Click a legend entry to hide or show its curve"));
    // "total" above the method's own losses, which may cross it often.
    m_lossPlot->addLayer(QStringLiteral("total"), m_lossPlot->layer(QStringLiteral("main")), QCustomPlot::limAbove);
    connect(m_lossPlot, &QCustomPlot::legendClick, this, [this](QCPLegend *, QCPAbstractLegendItem *item, QMouseEvent *) {
        auto *entry = qobject_cast<QCPPlottableLegendItem *>(item);
        if (!entry)
            return;
        QCPAbstractPlottable *curve = entry->plottable();
        curve->setVisible(!curve->visible());
        entry->setTextColor(curve->visible() ? Qt::black : QColor(160, 160, 160));
        fitLossAxis();
        m_lossPlot->replot(QCustomPlot::rpQueuedReplot);
    });

    m_valPlot = makeThemedPlot(plots, QStringLiteral("validationPlot"));
    m_valPlot->setMinimumSize(160, 70);
    m_valPlot->xAxis->setLabel(tr("step"));
    m_valPlot->yAxis->setLabel(tr("val mIoU %"));
    m_valPlot->yAxis->setRange(0, 100);
    // A small plot: three labels an axis, that do not collide.
    for (QCPAxis *axis : {m_valPlot->xAxis, m_valPlot->yAxis}) {
        axis->ticker()->setTickCount(3);
        axis->ticker()->setTickStepStrategy(QCPAxisTicker::tssMeetTickCount);
    }
    m_valGraph = m_valPlot->addGraph();
    m_valGraph->setName(tr("val mIoU"));
    m_valGraph->setPen(QPen(seriesColor(2), 1.5));
    m_valGraph->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, seriesColor(2), seriesColor(2), 7));
    m_valPlot->setToolTip(tr("mIoU of the pseudo-masks on the run's val split at each validation"));
    plotLayout->addWidget(m_lossPlot, 3);
    plotLayout->addWidget(m_valPlot, 1);

    auto *side = new QSplitter(Qt::Vertical, split);
    auto *checkpointBox = new QWidget(side);
    auto *checkpointLayout = new QVBoxLayout(checkpointBox);
    checkpointLayout->setContentsMargins(0, 0, 0, 0);
    checkpointLayout->setSpacing(2);
    checkpointLayout->addWidget(new QLabel(tr("Checkpoints"), checkpointBox));
    m_checkpoints = new QListWidget(checkpointBox);
    m_checkpoints->setObjectName(QStringLiteral("trainingCheckpointList"));
    m_checkpoints->setToolTip(tr("Double-click to open a checkpoint in the studio"));
    m_checkpoints->setMinimumHeight(40);
    m_open = new QPushButton(tr("Open"), checkpointBox);
    m_open->setObjectName(QStringLiteral("trainingOpenCheckpointButton"));
    m_open->setEnabled(false);
    checkpointLayout->addWidget(m_checkpoints, 1);
    checkpointLayout->addWidget(m_open);
    m_log = new QPlainTextEdit(side);
    m_log->setObjectName(QStringLiteral("trainingLog"));
    m_log->setReadOnly(true);
    m_log->setMaximumBlockCount(kLogLines);
    m_log->setMinimumHeight(40);
    side->addWidget(checkpointBox);
    side->addWidget(m_log);
    side->setSizes({150, 250});
    split->addWidget(plots);
    split->addWidget(side);
    split->setStretchFactor(0, 3);
    split->setStretchFactor(1, 1);
    split->setSizes({800, 260});
    layout->addWidget(split, 1);
    setWidget(body);

    m_followTimer = new QTimer(this);
    m_followTimer->setInterval(kFollowIntervalMs);
    connect(m_followTimer, &QTimer::timeout, this, &TrainingDock::poll);

    connect(m_smooth, &QCheckBox::toggled, this, [this](bool on) {
        QSettings().setValue(kSmoothKey, on);
        showCurves(false);
    });
    connect(m_pause, &QPushButton::clicked, this, &TrainingDock::pauseRequested);
    connect(m_resume, &QPushButton::clicked, this, &TrainingDock::resumeRequested);
    connect(m_cancel, &QPushButton::clicked, this, &TrainingDock::cancelRequested);
    connect(m_checkpoints, &QListWidget::itemActivated, this, [this](QListWidgetItem *item) {
        Q_EMIT openCheckpointRequested(item->data(Qt::UserRole).toString());
    });
    connect(m_checkpoints, &QListWidget::currentItemChanged, this,
            [this](QListWidgetItem *item) { m_open->setEnabled(item != nullptr); });
    connect(m_open, &QPushButton::clicked, this, [this] {
        if (const QListWidgetItem *item = m_checkpoints->currentItem())
            Q_EMIT openCheckpointRequested(item->data(Qt::UserRole).toString());
    });
    updateButtons();
    setProgress(0, 0, 0, 0);
}

void TrainingDock::reset(const QString &runDir, qint64 totalSteps)
{
    m_followTimer->stop();
    m_runDir = runDir;
    m_following = false;
    m_running = false;
    m_paused = false;
    m_step = 0;
    m_total = totalSteps;
    m_checkpointSteps.clear();
    m_follower = MetricsFollower(QDir(runDir).filePath(QStringLiteral("metrics.jsonl")));
    m_lastWarning.clear();
    m_speedSamples.clear();
    clearCurves();
    showCheckpoints();
    setProgress(0, totalSteps, 0, 0);
}

void TrainingDock::startJob(quint64 jobId, const QString &runDir, qint64 totalSteps)
{
    reset(runDir, totalSteps);
    m_jobId = jobId;
    m_running = true;
    setStatus(tr("Training %1").arg(runName(runDir)));
    m_status->setToolTip(QDir::toNativeSeparators(runDir));
    appendLog(tr("Training %1 for %n step(s)", nullptr, static_cast<int>(totalSteps))
                  .arg(QDir::toNativeSeparators(runDir)));
    updateButtons();
}

void TrainingDock::addStep(const tr_::TrainingStep &step)
{
    if (m_following || step.id != m_jobId)
        return; // a job this dock does not show (an older one, or a run followed on disk)
    if (step.total > 0)
        m_total = step.total;
    showCurves(m_curves.addStep(step));
    setProgress(step.step, m_total, step.stepsPerSecond, step.secondsLeft);
}

void TrainingDock::addValidation(const tr_::TrainingValidated &validation)
{
    if (m_following || validation.id != m_jobId)
        return;
    showCurves(m_curves.addValidation(validation.step, validation.scores));
    QString line = tr("Validation at step %1").arg(validation.step);
    const auto miou = validation.scores.find("val_miou");
    if (miou != validation.scores.end())
        line += tr(": mIoU %1%").arg(100 * miou->second, 0, 'f', 1);
    const auto best = validation.scores.find("val_miou_best");
    const auto threshold = validation.scores.find("best_bg_threshold");
    if (best != validation.scores.end() && threshold != validation.scores.end())
        line += tr(" (%1% at the best background threshold %2)")
                    .arg(100 * best->second, 0, 'f', 1)
                    .arg(threshold->second, 0, 'f', 2);
    appendLog(line);
}

void TrainingDock::addCheckpoint(const QString &path, qint64 step)
{
    // checkpoint.wsss is rewritten at every save: one entry per file, at its newest step.
    const auto same = std::find_if(m_checkpointSteps.begin(), m_checkpointSteps.end(),
                                   [&](const auto &entry) { return entry.first == path; });
    if (same != m_checkpointSteps.end())
        same->second = step;
    else
        m_checkpointSteps.emplace_back(path, step);
    showCheckpoints();
    appendLog(tr("Checkpoint at step %1: %2").arg(step).arg(QDir::toNativeSeparators(path)));
}

void TrainingDock::setPaused(bool paused)
{
    if (!m_running || m_paused == paused)
        return;
    m_paused = paused;
    if (paused)
        setStatus(tr("Paused at step %1 of %2").arg(m_step).arg(runName(m_runDir)));
    else
        setStatus(tr("Training %1").arg(runName(m_runDir)));
    appendLog(paused ? tr("Paused at step %1").arg(m_step) : tr("Resumed at step %1").arg(m_step));
    setProgress(m_step, m_total, 0, 0);
    updateButtons();
}

void TrainingDock::endJob(const QString &outcome)
{
    m_running = false;
    m_paused = false;
    const bool failed = outcome.startsWith(QStringLiteral("Failed"));
    setStatus(outcome, failed);
    appendLog(outcome);
    setProgress(m_step, m_total, 0, 0); // no speed or time left once it stopped
    updateButtons();
}

void TrainingDock::appendLog(const QString &line)
{
    m_log->appendPlainText(QTime::currentTime().toString(QStringLiteral("HH:mm:ss  ")) + line);
}

void TrainingDock::follow(const QString &runDir)
{
    reset(runDir, 0);
    m_jobId = 0;
    m_following = true;
    m_followClock.start();
    setStatus(tr("Following %1").arg(runName(runDir)));
    m_status->setToolTip(QDir::toNativeSeparators(runDir));
    appendLog(tr("Following %1 (trained by another process)").arg(QDir::toNativeSeparators(runDir)));
    updateButtons();
    poll();
    m_followTimer->start();
}

void TrainingDock::poll()
{
    if (!m_following)
        return;
    const QString name = runName(m_runDir);
    QStringList warnings;
    const auto update = m_follower.poll(m_curves, &warnings);
    // A file that cannot be read says so once, not every poll.
    for (const QString &warning : warnings)
        if (warning != m_lastWarning)
            appendLog(m_lastWarning = warning);
    if (update != MetricsFollower::Update::None)
        showCurves(update == MetricsFollower::Update::Appended);

    tr_::RunDescription run;
    try {
        run = tr_::describeRun(m_runDir.toStdString());
    } catch (const std::exception &) {
        setStatus(tr("Following %1: waiting for the run to write its metrics or checkpoint").arg(name));
        return;
    }
    if (!run.problem.empty() && QString::fromStdString(run.problem) != m_lastWarning)
        appendLog(m_lastWarning = QString::fromStdString(run.problem));
    std::vector<std::pair<QString, qint64>> checkpoints;
    for (const auto &c : run.checkpoints)
        checkpoints.emplace_back(QString::fromStdString(c.path), c.step);
    if (checkpoints != m_checkpointSteps) {
        m_checkpointSteps = std::move(checkpoints);
        showCheckpoints();
    }
    m_total = run.total;
    const qint64 step = std::max<qint64>(m_curves.lastStep(), run.step);

    // The speed over the last samples in which the step moved; none once nobody trains.
    const qint64 now = m_followClock.elapsed();
    if (m_speedSamples.empty() || m_speedSamples.back().second != step)
        m_speedSamples.emplace_back(now, step);
    while (m_speedSamples.size() > 2 && now - m_speedSamples.front().first > kSpeedWindowMs)
        m_speedSamples.erase(m_speedSamples.begin());
    double speed = 0;
    if (run.state == tr_::RunState::Training && m_speedSamples.size() >= 2) {
        const auto &[t0, s0] = m_speedSamples.front();
        const auto &[t1, s1] = m_speedSamples.back();
        if (t1 > t0 && s1 > s0)
            speed = 1000.0 * static_cast<double>(s1 - s0) / static_cast<double>(t1 - t0);
    }
    setProgress(step, m_total, speed, speed > 0 ? static_cast<double>(m_total - step) / speed : 0);

    switch (run.state) {
    case tr_::RunState::Training:
        setStatus(run.holder.empty() ? tr("Following %1: training").arg(name)
                                     : tr("Following %1: training (%2)").arg(name, QString::fromStdString(run.holder)));
        break;
    case tr_::RunState::Finished:
        setStatus(tr("Following %1: finished").arg(name));
        break;
    case tr_::RunState::Stopped:
        setStatus(tr("Following %1: stopped at step %2 (wsss train --resume continues it)").arg(name).arg(run.step));
        break;
    case tr_::RunState::Empty:
        setStatus(tr("Following %1: no checkpoint yet").arg(name));
        break;
    }
}

void TrainingDock::clearCurves()
{
    m_curves.clear();
    showCurves(false);
}

void TrainingDock::showCurves(bool appendedOnly)
{
    auto sync = [appendedOnly](QCPGraph *graph, const RunCurves::Series &series) {
        if (appendedOnly && graph->dataCount() <= series.size()) {
            for (int i = graph->dataCount(); i < series.size(); ++i)
                graph->addData(series.steps[i], series.values[i]);
        } else {
            graph->setData(series.steps, series.values, true);
        }
    };
    // A loss's moving average goes on from the last point drawn, so appending stays cheap.
    const bool smooth = m_smooth->isChecked();
    auto syncLoss = [&](QCPGraph *graph, const RunCurves::Series &series) {
        if (!smooth)
            return sync(graph, series);
        int from = appendedOnly && graph->dataCount() <= series.size() ? graph->dataCount() : 0;
        if (from == 0)
            graph->data()->clear();
        double average = from > 0 ? (graph->data()->constEnd() - 1)->value : 0;
        for (int i = from; i < series.size(); ++i) {
            average = i == 0 ? series.values[i] : kSmoothing * average + (1 - kSmoothing) * series.values[i];
            graph->addData(series.steps[i], average);
        }
    };
    if (!appendedOnly) {
        // Losses gone from the series (a run read anew) lose their graphs too.
        for (auto it = m_lossGraphs.begin(); it != m_lossGraphs.end();) {
            if (m_curves.losses().count(it->first)) {
                ++it;
            } else {
                m_lossPlot->removeGraph(it->second);
                it = m_lossGraphs.erase(it);
            }
        }
    }
    for (const auto &[name, series] : m_curves.losses()) {
        auto it = m_lossGraphs.find(name);
        if (it == m_lossGraphs.end()) {
            QCPGraph *graph = m_lossPlot->addGraph();
            graph->setName(name);
            // "total" is what the optimiser sees: drawn first, widest, in the first colour.
            const bool total = name == kTotal;
            int colour = 1;
            for (const auto &[other, g] : m_lossGraphs)
                colour += other != kTotal;
            graph->setPen(QPen(seriesColor(total ? 0 : colour), total ? 2.2 : 1.3));
            if (total)
                graph->setLayer(QStringLiteral("total"));
            it = m_lossGraphs.emplace(name, graph).first;
            // Keep the learning rate last in the legend.
            m_lrGraph->removeFromLegend();
            m_lrGraph->addToLegend();
        }
        syncLoss(it->second, series);
    }
    sync(m_lrGraph, m_curves.learningRate());
    RunCurves::Series percent = m_curves.validationScore(kValMiou);
    for (double &v : percent.values)
        v *= 100;
    sync(m_valGraph, percent);

    const double right = static_cast<double>(std::max<qint64>({m_total, m_curves.lastStep(), 1}));
    m_lossPlot->xAxis->setRange(0, right);
    m_valPlot->xAxis->setRange(0, right);
    fitLossAxis();
    if (!m_curves.learningRate().isEmpty()) {
        const auto &lr = m_curves.learningRate().values;
        const double top = *std::max_element(lr.begin(), lr.end());
        m_lossPlot->yAxis2->setRange(0, top > 0 ? top * 1.05 : 1);
    }
    if (!percent.isEmpty()) {
        const double top = *std::max_element(percent.values.begin(), percent.values.end());
        m_valPlot->yAxis->setRange(0, std::min(100.0, std::max(10.0, top * 1.2)));
    }
    m_lossPlot->replot(QCustomPlot::rpQueuedReplot);
    m_valPlot->replot(QCustomPlot::rpQueuedReplot);
}

void TrainingDock::fitLossAxis()
{
    // Over the curves shown: hiding a spiky one lets the others fill the plot.
    bool any = false;
    QCPRange range;
    for (const auto &[name, graph] : m_lossGraphs) {
        bool found = false;
        const QCPRange r = graph->visible() ? graph->getValueRange(found) : QCPRange();
        if (found)
            range = any ? QCPRange(std::min(range.lower, r.lower), std::max(range.upper, r.upper)) : r;
        any |= found;
    }
    if (any)
        m_lossPlot->yAxis->setRange(std::min(0.0, range.lower), range.upper + std::max(1e-6, 0.05 * (range.upper - range.lower)));
}

void TrainingDock::setProgress(qint64 step, qint64 total, double stepsPerSecond, double secondsLeft)
{
    m_step = step;
    m_total = total;
    const double fraction = total > 0 ? std::clamp(double(step) / double(total), 0.0, 1.0) : 0.0;
    m_progress->setValue(static_cast<int>(std::lround(fraction * kProgressSteps)));
    QString text;
    if (total > 0) {
        QStringList parts{tr("step %1/%2").arg(step).arg(total)};
        const bool moving = (m_running && !m_paused) || (m_following && stepsPerSecond > 0);
        if (moving && step >= total)
            parts << tr("finishing (validation, checkpoint)");
        else if (moving) {
            if (const QString speed = speedText(stepsPerSecond); !speed.isEmpty())
                parts << speed;
            if (secondsLeft > 0 && std::isfinite(secondsLeft))
                parts << tr("%1 left").arg(formatDuration(secondsLeft));
        }
        for (const auto &[name, value] : m_curves.figures()) // not losses: text, not curves
            parts << QStringLiteral("%1 %2").arg(name).arg(value, 0, 'g', 3);
        text = parts.join(QStringLiteral(" · "));
    } else if (step > 0) {
        text = tr("step %1").arg(step);
    }
    m_progress->setProperty("progressText", text);
    m_progress->setFormat(text.isEmpty() ? QString() : QStringLiteral("%p% · ") + text);
}

int TrainingDock::progressPercent() const
{
    return m_total > 0 ? static_cast<int>(std::clamp<qint64>(100 * m_step / m_total, 0, 100)) : 0;
}

QString TrainingDock::progressText() const
{
    return m_progress->property("progressText").toString();
}

QString TrainingDock::statusText() const
{
    return m_status->text();
}

void TrainingDock::setStatus(const QString &text, bool failure)
{
    m_status->setText(text);
    // A failure stays in view in red until the next run; everything else in the palette's text colour.
    m_status->setStyleSheet(failure ? QStringLiteral("color: #c62828;") : QString());
}

void TrainingDock::updateButtons()
{
    const bool controllable = m_running && !m_following;
    m_pause->setEnabled(controllable && !m_paused);
    m_resume->setEnabled(controllable && m_paused);
    m_cancel->setEnabled(controllable);
    const QString why = m_following ? tr("This run is trained by another process; stop it there") : QString();
    for (QPushButton *button : {m_pause, m_resume, m_cancel})
        button->setStatusTip(why);
}

void TrainingDock::showCheckpoints()
{
    std::vector<std::pair<QString, qint64>> sorted = m_checkpointSteps;
    // Newest first; at the same step the run's own checkpoint.wsss before its kept copy.
    std::stable_sort(sorted.begin(), sorted.end(), [](const auto &a, const auto &b) {
        if (a.second != b.second)
            return a.second > b.second;
        return QFileInfo(a.first).fileName() == QStringLiteral("checkpoint.wsss")
               && QFileInfo(b.first).fileName() != QStringLiteral("checkpoint.wsss");
    });
    const QString current = m_checkpoints->currentItem() ? m_checkpoints->currentItem()->data(Qt::UserRole).toString()
                                                         : QString();
    m_checkpoints->clear();
    for (const auto &[path, step] : sorted) {
        auto *item = new QListWidgetItem(tr("step %1 · %2").arg(step).arg(QFileInfo(path).fileName()), m_checkpoints);
        item->setData(Qt::UserRole, path);
        item->setToolTip(QDir::toNativeSeparators(path));
        if (path == current)
            m_checkpoints->setCurrentItem(item);
    }
    m_open->setEnabled(m_checkpoints->currentItem() != nullptr);
}

QStringList TrainingDock::checkpointPaths() const
{
    QStringList paths;
    for (int i = 0; i < m_checkpoints->count(); ++i)
        paths << m_checkpoints->item(i)->data(Qt::UserRole).toString();
    return paths;
}

QCPGraph *TrainingDock::lossGraph(const QString &name) const
{
    const auto it = m_lossGraphs.find(name);
    return it == m_lossGraphs.end() ? nullptr : it->second;
}

void TrainingDock::setSmoothing(bool on)
{
    m_smooth->setChecked(on);
}

bool TrainingDock::smoothing() const
{
    return m_smooth->isChecked();
}

QString TrainingDock::formatDuration(double seconds)
{
    if (!(seconds >= 0) || !std::isfinite(seconds))
        return {};
    const qint64 s = std::llround(seconds);
    if (s < 60)
        return tr("%1 s").arg(s);
    if (s < 3600)
        return tr("%1 min %2 s").arg(s / 60).arg(s % 60);
    return tr("%1 h %2 min").arg(s / 3600).arg((s % 3600) / 60, 2, 10, QLatin1Char('0'));
}

} // namespace wsss::ui
