#include "ui/training/metrics_follower.h"

#include "training/loop/run_folder.h"

#include <QFile>
#include <QFileInfo>

#include <algorithm>
#include <exception>

namespace wsss::ui {

namespace {

constexpr int kTailBytes = 256; // enough to cover the last line and a half

// The last `bytes` bytes of `path` before `offset` (fewer near the start of the file).
QByteArray bytesBefore(const QString &path, std::uint64_t offset, int bytes)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return {};
    const qint64 from = std::max<qint64>(0, static_cast<qint64>(offset) - bytes);
    if (!file.seek(from))
        return {};
    return file.read(static_cast<qint64>(offset) - from);
}

} // namespace

void MetricsFollower::restart()
{
    m_offset = 0;
    m_tail.clear();
}

MetricsFollower::Update MetricsFollower::poll(RunCurves &curves, QStringList *warnings)
{
    const QFileInfo file(m_path);
    if (!file.exists())
        return Update::None;
    bool rewritten = false;
    if (m_offset > 0 && (static_cast<std::uint64_t>(file.size()) < m_offset
                         || bytesBefore(m_path, m_offset, kTailBytes) != m_tail)) {
        restart();
        curves.clear();
        rewritten = true;
    }
    if (static_cast<std::uint64_t>(file.size()) == m_offset)
        return rewritten ? Update::Changed : Update::None;
    try {
        const auto chunk = wsss::training::readMetrics(m_path.toStdString(), m_offset);
        if (warnings)
            for (const auto &w : chunk.warnings)
                *warnings << QString::fromStdString(w);
        m_offset = chunk.nextOffset;
        m_tail = bytesBefore(m_path, m_offset, kTailBytes);
        const bool appended = curves.addLines(chunk.lines);
        if (rewritten || !appended)
            return Update::Changed;
        return chunk.lines.empty() ? Update::None : Update::Appended;
    } catch (const std::exception &e) {
        if (warnings)
            *warnings << QString::fromUtf8(e.what());
        return rewritten ? Update::Changed : Update::None;
    }
}

} // namespace wsss::ui
