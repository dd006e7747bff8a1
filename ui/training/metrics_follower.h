#pragma once
// MetricsFollower: reads a run's metrics.jsonl on from where it last stopped, into RunCurves, for
// the views that watch a run another process writes. A resumed run replaces the file (truncated
// at its checkpoint's step) and a forced one starts it over: when the bytes before the offset
// are no longer those read, the curves are cleared and the file is read whole again.
#include "ui/training/run_curves.h"

#include <QByteArray>
#include <QString>
#include <QStringList>

#include <cstdint>

namespace wsss::ui {

class MetricsFollower {
public:
    explicit MetricsFollower(QString metricsPath = {}) : m_path(std::move(metricsPath)) {}

    enum class Update {
        None,     // nothing new (or no file yet)
        Appended, // points added at the ends of series only
        Changed,  // series rewritten: take them anew
    };
    // Reads what was added since the last call into `curves`; a line that is not JSON is skipped
    // and named in `warnings`.
    Update poll(RunCurves &curves, QStringList *warnings = nullptr);
    void restart(); // the next poll reads from the start (the caller clears its curves)

    const QString &path() const { return m_path; }

private:
    QString m_path;
    std::uint64_t m_offset = 0;
    QByteArray m_tail; // the bytes just before m_offset when it was read
};

} // namespace wsss::ui
