#pragma once
// JobsDock: the engine's queue as a user sees it — every job submitted and not yet ended, with
// its kind, what it does, its progress and whether it runs, is paused or waits — and a Cancel
// for the selected one. Reads EngineBridge::jobs() shortly after jobsChanged(); the bridge outlives it.
#include <QDockWidget>

class QPushButton;
class QTableWidget;
class QTimer;

namespace wsss::ui {

class EngineBridge;

class JobsDock : public QDockWidget {
    Q_OBJECT
public:
    explicit JobsDock(EngineBridge *bridge, QWidget *parent = nullptr);

    void refresh(); // the list now (jobsChanged() redraws it within kRefreshMs)
    static constexpr int kRefreshMs = 100;

    enum Column { KindColumn, WhatColumn, ProgressColumn, StateColumn, ColumnCount };

    // For tests.
    QTableWidget *table() const { return m_table; }
    QPushButton *cancelButton() const { return m_cancel; }
    quint64 selectedJob() const; // 0 when none
    void selectJob(quint64 id);

private:
    EngineBridge *m_bridge = nullptr;
    QTableWidget *m_table = nullptr;
    QPushButton *m_cancel = nullptr;
    QTimer *m_refresh = nullptr;
};

} // namespace wsss::ui
