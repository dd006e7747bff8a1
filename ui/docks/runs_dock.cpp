#include "ui/docks/runs_dock.h"

#include "ui/plot/plot_style.h"
#include "ui/plot/qcustomplot_wrapper.h"

#include <QDir>
#include <QFileDialog>
#include <QFileInfo>
#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QLineEdit>
#include <QListWidget>
#include <QMenu>
#include <QPushButton>
#include <QSet>
#include <QSettings>
#include <QSignalBlocker>
#include <QSplitter>
#include <QTableWidget>
#include <QTimer>
#include <QVBoxLayout>

#include <algorithm>
#include <exception>

namespace wsss::ui {

namespace tr_ = wsss::training;

namespace {

const QString kFolderKey = QStringLiteral("runs/folder");
const char *const kKindProperty = "curveKind"; // "loss" or "val" on each graph of the overlay

QString runName(const std::string &dir)
{
    return QFileInfo(QDir::cleanPath(QString::fromStdString(dir))).fileName();
}

// checkpoint.wsss is the newest of a run; the kept copies checkpoint-step<N>.wsss come after.
std::vector<tr_::RunCheckpoint> newestFirst(std::vector<tr_::RunCheckpoint> checkpoints)
{
    std::stable_sort(checkpoints.begin(), checkpoints.end(), [](const auto &a, const auto &b) {
        if (a.step != b.step)
            return a.step > b.step;
        return QFileInfo(QString::fromStdString(a.path)).fileName() == QStringLiteral("checkpoint.wsss");
    });
    return checkpoints;
}

QTableWidgetItem *cell(const QString &text, Qt::Alignment align = Qt::AlignLeft | Qt::AlignVCenter)
{
    auto *item = new QTableWidgetItem(text);
    item->setTextAlignment(align);
    return item;
}

} // namespace

RunsDock::RunsDock(QWidget *parent) : QDockWidget(tr("Runs"), parent)
{
    setObjectName(QStringLiteral("RunsDock"));
    auto *body = new QWidget(this);
    auto *layout = new QVBoxLayout(body);
    layout->setContentsMargins(6, 4, 6, 6);

    auto *top = new QHBoxLayout;
    m_folderEdit = new QLineEdit(body);
    m_folderEdit->setObjectName(QStringLiteral("runsFolderEdit"));
    m_folderEdit->setPlaceholderText(tr("a folder whose subfolders are training runs"));
    auto *browse = new QPushButton(tr("Browse…"), body);
    browse->setObjectName(QStringLiteral("runsBrowseButton"));
    auto *refreshButton = new QPushButton(tr("Refresh"), body);
    refreshButton->setObjectName(QStringLiteral("runsRefreshButton"));
    top->addWidget(new QLabel(tr("Runs in"), body));
    top->addWidget(m_folderEdit, 1);
    top->addWidget(browse);
    top->addWidget(refreshButton);
    layout->addLayout(top);
    m_message = new QLabel(body);
    m_message->setObjectName(QStringLiteral("runsMessage"));
    m_message->setWordWrap(true);
    m_message->hide();
    layout->addWidget(m_message);

    // The table with the current run's checkpoints under it on the left, the curves on the right:
    // the dock usually shares a wide, low bottom area with the other panels.
    auto *split = new QSplitter(Qt::Horizontal, body);
    auto *left = new QSplitter(Qt::Vertical, split);
    m_table = new QTableWidget(0, ColumnCount, left);
    m_table->setObjectName(QStringLiteral("runsTable"));
    m_table->setHorizontalHeaderLabels({tr("Run"), tr("Method"), tr("Backbone"), tr("Steps"), tr("Best val mIoU"), tr("State")});
    m_table->horizontalHeader()->setSectionResizeMode(NameColumn, QHeaderView::Stretch);
    for (int c = MethodColumn; c < ColumnCount; ++c)
        m_table->horizontalHeader()->setSectionResizeMode(c, QHeaderView::ResizeToContents);
    m_table->verticalHeader()->setVisible(false);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::ExtendedSelection);
    m_table->setContextMenuPolicy(Qt::CustomContextMenu);
    m_table->setMinimumHeight(60);
    m_table->setToolTip(tr("Select runs to compare their curves; double-click one to open its latest checkpoint"));
    auto *checkpointBox = new QWidget(left);
    auto *checkpointLayout = new QVBoxLayout(checkpointBox);
    checkpointLayout->setContentsMargins(0, 0, 0, 0);
    checkpointLayout->setSpacing(2);
    m_checkpointTitle = new QLabel(tr("Checkpoints"), checkpointBox);
    m_checkpoints = new QListWidget(checkpointBox);
    m_checkpoints->setObjectName(QStringLiteral("runsCheckpointList"));
    m_checkpoints->setToolTip(tr("Double-click to open a checkpoint in the studio"));
    m_checkpoints->setMinimumHeight(40);
    checkpointLayout->addWidget(m_checkpointTitle);
    checkpointLayout->addWidget(m_checkpoints, 1);
    left->addWidget(m_table);
    left->addWidget(checkpointBox);
    left->setSizes({300, 120});

    m_plot = makeThemedPlot(split, QStringLiteral("runsPlot"));
    m_plot->setMinimumSize(260, 110);
    m_plot->xAxis->setLabel(tr("step"));
    m_plot->yAxis->setLabel(tr("total loss"));
    m_plot->yAxis2->setLabel(tr("val mIoU % (dots)"));
    m_plot->yAxis2->setRange(0, 100);
    m_plot->legend->setFont(QFont(font().family(), std::max(7, font().pointSize() - 1)));
    m_plot->axisRect()->insetLayout()->setInsetAlignment(0, Qt::AlignTop | Qt::AlignRight);
    split->addWidget(left);
    split->addWidget(m_plot);
    split->setStretchFactor(0, 1);
    split->setStretchFactor(1, 1);
    split->setSizes({500, 500});
    layout->addWidget(split, 1);
    setWidget(body);

    m_timer = new QTimer(this);
    m_timer->setInterval(kRefreshMs);
    connect(m_timer, &QTimer::timeout, this, [this] {
        if (isVisible())
            refresh();
    });
    m_timer->start();

    connect(browse, &QPushButton::clicked, this, &RunsDock::browse);
    connect(refreshButton, &QPushButton::clicked, this, &RunsDock::refresh);
    connect(m_folderEdit, &QLineEdit::editingFinished, this, [this] {
        if (m_folderEdit->text().trimmed() != m_folder)
            setFolder(m_folderEdit->text().trimmed());
    });
    connect(m_table, &QTableWidget::itemSelectionChanged, this, [this] {
        showCurves();
        showCheckpoints();
    });
    connect(m_table, &QTableWidget::currentCellChanged, this, &RunsDock::showCheckpoints);
    connect(m_table, &QTableWidget::cellDoubleClicked, this, [this](int row, int) {
        const QTableWidgetItem *item = m_table->item(row, NameColumn);
        const tr_::RunDescription *r = item ? run(item->data(Qt::UserRole).toString()) : nullptr;
        if (r && !r->checkpoints.empty())
            Q_EMIT openCheckpointRequested(QString::fromStdString(newestFirst(r->checkpoints).front().path));
    });
    connect(m_table, &QTableWidget::customContextMenuRequested, this, &RunsDock::showContextMenu);
    connect(m_checkpoints, &QListWidget::itemActivated, this, [this](QListWidgetItem *item) {
        Q_EMIT openCheckpointRequested(item->data(Qt::UserRole).toString());
    });

    // The folder the last studio showed.
    m_folder = QSettings().value(kFolderKey).toString();
    m_folderEdit->setText(QDir::toNativeSeparators(m_folder));
}

void RunsDock::setFolder(const QString &folder)
{
    m_folder = QDir::cleanPath(folder);
    if (folder.isEmpty())
        m_folder.clear();
    m_folderEdit->setText(QDir::toNativeSeparators(m_folder));
    m_metrics.clear();
    QSettings().setValue(kFolderKey, m_folder);
    refresh();
}

void RunsDock::showEvent(QShowEvent *event)
{
    QDockWidget::showEvent(event);
    refresh();
}

void RunsDock::browse()
{
    const QString folder = QFileDialog::getExistingDirectory(this, tr("Folder of runs"), m_folder);
    if (!folder.isEmpty())
        setFolder(folder);
}

void RunsDock::refresh()
{
    std::vector<tr_::RunDescription> runs;
    QString message;
    if (m_folder.isEmpty()) {
        message = tr("Choose the folder your runs are in (each run is a subfolder with checkpoint.wsss or "
                     "metrics.jsonl).");
    } else {
        try {
            runs = tr_::listRuns(m_folder.toStdString());
            if (runs.empty())
                message = tr("No runs in %1 yet.").arg(QDir::toNativeSeparators(m_folder));
        } catch (const std::exception &e) {
            message = QString::fromUtf8(e.what());
        }
    }
    m_message->setText(message);
    m_message->setVisible(!message.isEmpty());
    m_runs = std::move(runs);
    showRuns();
    showCurves();
    showCheckpoints();
}

void RunsDock::showRuns()
{
    const QStringList selected = selectedRunDirs();
    const QString current = currentRunDir();
    // Rebuilding the rows must not look like the user changing the selection.
    const QSignalBlocker block(m_table);
    const QSignalBlocker blockSelection(m_table->selectionModel());
    m_table->clearSelection();
    m_table->setRowCount(static_cast<int>(m_runs.size()));
    for (int row = 0; row < static_cast<int>(m_runs.size()); ++row) {
        const tr_::RunDescription &r = m_runs[static_cast<size_t>(row)];
        const QString dir = QString::fromStdString(r.dir);
        auto *name = cell(runName(r.dir));
        name->setData(Qt::UserRole, dir);
        name->setToolTip(QDir::toNativeSeparators(dir));
        m_table->setItem(row, NameColumn, name);
        m_table->setItem(row, MethodColumn, cell(QString::fromStdString(r.method)));
        m_table->setItem(row, BackboneColumn, cell(QString::fromStdString(r.backbone)));
        const QString steps = r.total > 0 ? QStringLiteral("%1/%2").arg(r.step).arg(r.total) : QString::number(r.step);
        m_table->setItem(row, StepsColumn, cell(steps, Qt::AlignRight | Qt::AlignVCenter));
        const QString best = r.bestValMiou ? QStringLiteral("%1 %").arg(100 * *r.bestValMiou, 0, 'f', 1) : QStringLiteral("—");
        m_table->setItem(row, BestColumn, cell(best, Qt::AlignRight | Qt::AlignVCenter));
        auto *state = cell(QString::fromUtf8(tr_::runStateName(r.state)));
        if (r.state == tr_::RunState::Training) {
            QFont bold = state->font();
            bold.setBold(true);
            state->setFont(bold);
            if (!r.holder.empty())
                state->setToolTip(tr("Trained by %1").arg(QString::fromStdString(r.holder)));
        } else if (r.state == tr_::RunState::Stopped) {
            state->setToolTip(tr("Stopped before its last step: wsss train --resume continues it"));
        } else if (r.state == tr_::RunState::Empty) {
            state->setToolTip(tr("Metrics but no checkpoint yet"));
        }
        if (!r.problem.empty()) // a checkpoint cut short or being replaced: say why the fields are empty
            state->setToolTip(QString::fromStdString(r.problem));
        m_table->setItem(row, StateColumn, state);
        if (selected.contains(dir))
            m_table->selectionModel()->select(m_table->model()->index(row, 0),
                                              QItemSelectionModel::Select | QItemSelectionModel::Rows);
        if (dir == current)
            m_table->selectionModel()->setCurrentIndex(m_table->model()->index(row, 0), QItemSelectionModel::NoUpdate);
    }
}

void RunsDock::showCurves()
{
    const QStringList selected = selectedRunDirs();
    for (auto it = m_metrics.begin(); it != m_metrics.end();)
        it = selected.contains(it->first) ? std::next(it) : m_metrics.erase(it); // read again if reselected
    m_plot->clearGraphs();
    bool anyValidation = false;
    double right = 1;
    for (const QString &dir : selected) {
        const auto at = std::find_if(m_runs.begin(), m_runs.end(),
                                     [&](const auto &r) { return QString::fromStdString(r.dir) == dir; });
        // One colour per run, by its row: stable while the folder's runs stay the same.
        const QColor colour = seriesColor(static_cast<int>(at - m_runs.begin()));
        const QString name = runName(dir.toStdString());
        auto found = m_metrics.find(dir);
        if (found == m_metrics.end())
            found = m_metrics.emplace(dir, Metrics{MetricsFollower(QDir(dir).filePath(QStringLiteral("metrics.jsonl"))), {}})
                        .first;
        Metrics &metrics = found->second;
        metrics.follower.poll(metrics.curves);

        const RunCurves::Series &loss = metrics.curves.loss(QStringLiteral("total"));
        QCPGraph *graph = m_plot->addGraph();
        graph->setProperty(kKindProperty, QStringLiteral("loss"));
        graph->setName(name);
        graph->setPen(QPen(colour, 1.6));
        graph->setData(loss.steps, loss.values, true);
        right = std::max(right, static_cast<double>(metrics.curves.lastStep()));
        if (at != m_runs.end())
            right = std::max(right, static_cast<double>(at->total));

        const RunCurves::Series &val = metrics.curves.validationScore(QStringLiteral("val_miou"));
        if (!val.isEmpty()) {
            QVector<double> percent = val.values;
            for (double &v : percent)
                v *= 100;
            QCPGraph *valGraph = m_plot->addGraph(m_plot->xAxis, m_plot->yAxis2);
            valGraph->setProperty(kKindProperty, QStringLiteral("val"));
            valGraph->setName(tr("%1 val mIoU").arg(name));
            valGraph->setPen(QPen(colour, 1.2, Qt::DashLine));
            valGraph->setScatterStyle(QCPScatterStyle(QCPScatterStyle::ssDisc, colour, colour, 6));
            valGraph->setData(val.steps, percent, true);
            valGraph->removeFromLegend(); // the legend names runs; the run's colour and the dots say the rest
            anyValidation = true;
        }
    }
    m_plot->xAxis->setRange(0, right);
    bool any = false;
    QCPRange range;
    for (int i = 0; i < m_plot->graphCount(); ++i) {
        QCPGraph *graph = m_plot->graph(i);
        if (graph->valueAxis() != m_plot->yAxis)
            continue;
        bool found = false;
        const QCPRange r = graph->getValueRange(found);
        if (found)
            range = any ? QCPRange(std::min(range.lower, r.lower), std::max(range.upper, r.upper)) : r;
        any |= found;
    }
    if (any)
        m_plot->yAxis->setRange(std::min(0.0, range.lower), range.upper + std::max(1e-6, 0.05 * (range.upper - range.lower)));
    m_plot->yAxis2->setVisible(anyValidation);
    if (anyValidation) {
        // Up to a little above the best score, so runs a few points apart are told apart.
        double top = 0;
        for (int i = 0; i < m_plot->graphCount(); ++i)
            if (m_plot->graph(i)->valueAxis() == m_plot->yAxis2) {
                bool found = false;
                const QCPRange r = m_plot->graph(i)->getValueRange(found);
                if (found)
                    top = std::max(top, r.upper);
            }
        m_plot->yAxis2->setRange(0, std::min(100.0, std::max(10.0, top * 1.2)));
    }
    m_plot->legend->setVisible(overlaidLossCurves() > 0);
    m_plot->replot(QCustomPlot::rpQueuedReplot);
}

void RunsDock::showCheckpoints()
{
    const QString dir = currentRunDir();
    const tr_::RunDescription *r = run(dir);
    const QString current = m_checkpoints->currentItem() ? m_checkpoints->currentItem()->data(Qt::UserRole).toString()
                                                         : QString();
    m_checkpoints->clear();
    m_checkpointTitle->setText(r ? tr("Checkpoints of %1").arg(runName(r->dir)) : tr("Checkpoints"));
    if (!r)
        return;
    for (const auto &c : newestFirst(r->checkpoints)) {
        const QString path = QString::fromStdString(c.path);
        auto *item = new QListWidgetItem(tr("step %1 · %2").arg(c.step).arg(QFileInfo(path).fileName()), m_checkpoints);
        item->setData(Qt::UserRole, path);
        item->setToolTip(QDir::toNativeSeparators(path));
        if (path == current)
            m_checkpoints->setCurrentItem(item);
    }
}

void RunsDock::showContextMenu(const QPoint &pos)
{
    const QTableWidgetItem *item = m_table->itemAt(pos);
    const tr_::RunDescription *r = item ? run(m_table->item(item->row(), NameColumn)->data(Qt::UserRole).toString()) : nullptr;
    QMenu menu(this);
    if (r) {
        const auto checkpoints = newestFirst(r->checkpoints);
        QAction *latest = menu.addAction(tr("Open latest checkpoint"));
        latest->setEnabled(!checkpoints.empty());
        if (!checkpoints.empty()) {
            const QString path = QString::fromStdString(checkpoints.front().path);
            connect(latest, &QAction::triggered, this, [this, path] { Q_EMIT openCheckpointRequested(path); });
        }
        QMenu *each = menu.addMenu(tr("Open checkpoint"));
        each->setEnabled(checkpoints.size() > 1);
        for (const auto &c : checkpoints) {
            const QString path = QString::fromStdString(c.path);
            QAction *action = each->addAction(tr("step %1 · %2").arg(c.step).arg(QFileInfo(path).fileName()));
            connect(action, &QAction::triggered, this, [this, path] { Q_EMIT openCheckpointRequested(path); });
        }
        const QString dir = QString::fromStdString(r->dir);
        QAction *watch = menu.addAction(tr("Watch in the Training panel"));
        connect(watch, &QAction::triggered, this, [this, dir] { Q_EMIT followRequested(dir); });
        QAction *resume = menu.addAction(tr("Resume training"));
        resume->setEnabled(r->state == wsss::training::RunState::Stopped);
        resume->setToolTip(tr("Continues the run from its last checkpoint with its stored options"));
        connect(resume, &QAction::triggered, this, [this, dir] { Q_EMIT resumeRequested(dir); });
        menu.addSeparator();
    }
    menu.addAction(tr("Refresh"), this, &RunsDock::refresh);
    menu.exec(m_table->viewport()->mapToGlobal(pos));
}

void RunsDock::selectRuns(const QStringList &dirs)
{
    {
        const QSignalBlocker block(m_table);
        m_table->clearSelection();
        for (int row = 0; row < m_table->rowCount(); ++row) {
            if (dirs.contains(m_table->item(row, NameColumn)->data(Qt::UserRole).toString())) {
                m_table->selectionModel()->select(m_table->model()->index(row, 0),
                                                  QItemSelectionModel::Select | QItemSelectionModel::Rows);
                if (m_table->selectionModel()->selectedRows().size() == 1)
                    m_table->selectionModel()->setCurrentIndex(m_table->model()->index(row, 0), QItemSelectionModel::NoUpdate);
            }
        }
    }
    showCurves();
    showCheckpoints();
}

QStringList RunsDock::selectedRunDirs() const
{
    QList<int> rows;
    for (const QModelIndex &index : m_table->selectionModel()->selectedRows())
        rows << index.row();
    std::sort(rows.begin(), rows.end());
    QStringList dirs;
    for (int row : rows)
        if (const QTableWidgetItem *item = m_table->item(row, NameColumn))
            dirs << item->data(Qt::UserRole).toString();
    return dirs;
}

QString RunsDock::currentRunDir() const
{
    const int row = m_table->currentRow();
    const QTableWidgetItem *item = row >= 0 ? m_table->item(row, NameColumn) : nullptr;
    return item ? item->data(Qt::UserRole).toString() : QString();
}

const tr_::RunDescription *RunsDock::run(const QString &dir) const
{
    for (const auto &r : m_runs)
        if (QString::fromStdString(r.dir) == dir)
            return &r;
    return nullptr;
}

int RunsDock::overlaidLossCurves() const
{
    int n = 0;
    for (int i = 0; i < m_plot->graphCount(); ++i)
        n += m_plot->graph(i)->property(kKindProperty).toString() == QStringLiteral("loss");
    return n;
}

int RunsDock::overlaidValidationCurves() const
{
    int n = 0;
    for (int i = 0; i < m_plot->graphCount(); ++i)
        n += m_plot->graph(i)->property(kKindProperty).toString() == QStringLiteral("val");
    return n;
}

const RunCurves *RunsDock::curves(const QString &dir) const
{
    const auto it = m_metrics.find(dir);
    return it == m_metrics.end() ? nullptr : &it->second.curves;
}

QStringList RunsDock::checkpointPaths() const
{
    QStringList paths;
    for (int i = 0; i < m_checkpoints->count(); ++i)
        paths << m_checkpoints->item(i)->data(Qt::UserRole).toString();
    return paths;
}

} // namespace wsss::ui
