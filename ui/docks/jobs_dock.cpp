#include "ui/docks/jobs_dock.h"

#include "ui/engine/engine_bridge.h"

#include <QHBoxLayout>
#include <QHeaderView>
#include <QLabel>
#include <QPushButton>
#include <QSignalBlocker>
#include <QTableWidget>
#include <QTimer>
#include <QVBoxLayout>

namespace wsss::ui {

namespace {

QString progressText(const EngineBridge::JobEntry &job)
{
    if (job.total <= 0)
        return job.done > 0 ? QString::number(job.done) : QString();
    return QStringLiteral("%1/%2 (%3 %)").arg(job.done).arg(job.total).arg(100 * job.done / job.total);
}

QString stateText(const EngineBridge::JobEntry &job)
{
    if (job.paused)
        return JobsDock::tr("paused");
    return job.running ? JobsDock::tr("running") : JobsDock::tr("queued");
}

} // namespace

JobsDock::JobsDock(EngineBridge *bridge, QWidget *parent) : QDockWidget(tr("Jobs"), parent), m_bridge(bridge)
{
    setObjectName(QStringLiteral("JobsDock"));
    auto *body = new QWidget(this);
    auto *layout = new QVBoxLayout(body);
    layout->setContentsMargins(6, 4, 6, 6);
    m_table = new QTableWidget(0, ColumnCount, body);
    m_table->setObjectName(QStringLiteral("jobsTable"));
    m_table->setHorizontalHeaderLabels({tr("Kind"), tr("What"), tr("Progress"), tr("State")});
    m_table->horizontalHeader()->setSectionResizeMode(WhatColumn, QHeaderView::Stretch);
    m_table->horizontalHeader()->setSectionResizeMode(KindColumn, QHeaderView::ResizeToContents);
    m_table->horizontalHeader()->setSectionResizeMode(ProgressColumn, QHeaderView::ResizeToContents);
    m_table->horizontalHeader()->setSectionResizeMode(StateColumn, QHeaderView::ResizeToContents);
    m_table->verticalHeader()->setVisible(false);
    m_table->setEditTriggers(QAbstractItemView::NoEditTriggers);
    m_table->setSelectionBehavior(QAbstractItemView::SelectRows);
    m_table->setSelectionMode(QAbstractItemView::SingleSelection);
    layout->addWidget(m_table, 1);
    auto *buttons = new QHBoxLayout;
    m_cancel = new QPushButton(tr("Cancel job"), body);
    m_cancel->setObjectName(QStringLiteral("cancelJobButton"));
    m_cancel->setToolTip(tr("Cancel the selected job (a training run keeps the step it reached)"));
    m_cancel->setEnabled(false);
    buttons->addStretch(1);
    buttons->addWidget(m_cancel);
    layout->addLayout(buttons);
    setWidget(body);

    // A train job changes the queue at every step: redraw at most every kRefreshMs.
    m_refresh = new QTimer(this);
    m_refresh->setSingleShot(true);
    m_refresh->setInterval(kRefreshMs);
    connect(m_refresh, &QTimer::timeout, this, &JobsDock::refresh);
    connect(m_bridge, &EngineBridge::jobsChanged, this, [this] {
        if (!m_refresh->isActive())
            m_refresh->start();
    });
    connect(m_table, &QTableWidget::itemSelectionChanged, this, [this] { m_cancel->setEnabled(selectedJob() != 0); });
    connect(m_cancel, &QPushButton::clicked, this, [this] {
        if (const quint64 id = selectedJob())
            m_bridge->cancel(id);
    });
    refresh();
}

void JobsDock::refresh()
{
    const quint64 selected = selectedJob();
    {
        const QSignalBlocker block(m_table);
        const QVector<EngineBridge::JobEntry> &jobs = m_bridge->jobs();
        m_table->clearSelection();
        m_table->setRowCount(static_cast<int>(jobs.size()));
        for (int row = 0; row < static_cast<int>(jobs.size()); ++row) {
            const EngineBridge::JobEntry &job = jobs[row];
            auto *kind = new QTableWidgetItem(job.kind);
            kind->setData(Qt::UserRole, job.id);
            m_table->setItem(row, KindColumn, kind);
            auto *what = new QTableWidgetItem(job.what);
            what->setToolTip(job.what);
            m_table->setItem(row, WhatColumn, what);
            auto *progress = new QTableWidgetItem(progressText(job));
            progress->setTextAlignment(Qt::AlignRight | Qt::AlignVCenter);
            m_table->setItem(row, ProgressColumn, progress);
            m_table->setItem(row, StateColumn, new QTableWidgetItem(stateText(job)));
            if (job.id == selected)
                m_table->selectRow(row);
        }
    }
    m_cancel->setEnabled(selectedJob() != 0);
}

quint64 JobsDock::selectedJob() const
{
    const auto rows = m_table->selectionModel()->selectedRows();
    if (rows.isEmpty())
        return 0;
    const QTableWidgetItem *item = m_table->item(rows.front().row(), KindColumn);
    return item ? item->data(Qt::UserRole).toULongLong() : 0;
}

void JobsDock::selectJob(quint64 id)
{
    for (int row = 0; row < m_table->rowCount(); ++row)
        if (m_table->item(row, KindColumn)->data(Qt::UserRole).toULongLong() == id)
            m_table->selectRow(row);
}

} // namespace wsss::ui
