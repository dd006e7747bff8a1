#pragma once
// A progress bar with ETA on stderr. On a terminal it redraws one line; otherwise (logs, CI)
// it prints a line every 5 %.
#include <chrono>
#include <cstdint>
#include <string>

namespace wsss::training {

class ProgressBar {
public:
    // `first`: where the count starts (a resumed run), so the ETA counts only this session's pace.
    ProgressBar(std::string label, std::int64_t total, std::int64_t first = 0);
    void update(std::int64_t done, const std::string &suffix = {});
    void finish(const std::string &suffix = {});

private:
    std::string m_label;
    std::int64_t m_total;
    std::int64_t m_first;
    int m_lastPercent = -1;
    bool m_tty;
    std::chrono::steady_clock::time_point m_start;
    std::chrono::steady_clock::time_point m_lastDraw;
};

std::string formatDuration(double seconds);

} // namespace wsss::training
