#include "training/cli/progress_bar.h"

#include <cstdio>
#include <unistd.h>

namespace wsss::training {

std::string formatDuration(double seconds)
{
    const auto s = static_cast<long>(seconds + 0.5);
    char buf[32];
    if (s >= 3600)
        std::snprintf(buf, sizeof buf, "%ldh%02ldm", s / 3600, (s / 60) % 60);
    else if (s >= 60)
        std::snprintf(buf, sizeof buf, "%ldm%02lds", s / 60, s % 60);
    else
        std::snprintf(buf, sizeof buf, "%lds", s);
    return buf;
}

ProgressBar::ProgressBar(std::string label, std::int64_t total, std::int64_t first)
    : m_label(std::move(label)), m_total(total > 0 ? total : 1), m_first(first), m_tty(isatty(fileno(stderr))),
      m_start(std::chrono::steady_clock::now()), m_lastDraw(m_start)
{
}

void ProgressBar::update(std::int64_t done, const std::string &suffix)
{
    const auto now = std::chrono::steady_clock::now();
    const int percent = static_cast<int>(100 * done / m_total);
    const double elapsed = std::chrono::duration<double>(now - m_start).count();
    const double eta = done > m_first ? elapsed * (m_total - done) / (done - m_first) : 0.0;
    if (m_tty) {
        if (done < m_total && now - m_lastDraw < std::chrono::milliseconds(100))
            return;
        m_lastDraw = now;
        constexpr int kWidth = 30;
        const int filled = static_cast<int>(kWidth * done / m_total);
        std::string bar(filled, '=');
        if (filled < kWidth)
            bar += '>' + std::string(kWidth - filled - 1, ' ');
        std::fprintf(stderr, "\r%s [%s] %3d%% %lld/%lld %s ETA %s   ", m_label.c_str(), bar.c_str(), percent,
                     static_cast<long long>(done), static_cast<long long>(m_total), suffix.c_str(),
                     formatDuration(eta).c_str());
    } else {
        if (percent / 5 == m_lastPercent / 5 && done < m_total)
            return;
        m_lastPercent = percent;
        std::fprintf(stderr, "%s %3d%% %lld/%lld %s ETA %s\n", m_label.c_str(), percent,
                     static_cast<long long>(done), static_cast<long long>(m_total), suffix.c_str(),
                     formatDuration(eta).c_str());
    }
    std::fflush(stderr);
}

void ProgressBar::finish(const std::string &suffix)
{
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - m_start).count();
    std::fprintf(stderr, "%s%s done in %s %s\n", m_tty ? "\r\033[K" : "", m_label.c_str(),
                 formatDuration(elapsed).c_str(), suffix.c_str());
}

} // namespace wsss::training
