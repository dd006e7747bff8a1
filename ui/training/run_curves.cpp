#include "ui/training/run_curves.h"

#include <algorithm>

namespace wsss::ui {

namespace {

const RunCurves::Series kNoSeries;

} // namespace

bool RunCurves::Series::set(double step, double value)
{
    if (steps.isEmpty() || step > steps.back()) {
        steps.push_back(step);
        values.push_back(value);
        return true;
    }
    const auto at = std::lower_bound(steps.begin(), steps.end(), step);
    const auto i = at - steps.begin();
    if (at != steps.end() && *at == step) {
        values[i] = value;
    } else {
        steps.insert(i, step);
        values.insert(i, value);
    }
    return false;
}

bool RunCurves::addLosses(std::int64_t step, const std::map<std::string, double> &losses)
{
    bool appended = true;
    for (const auto &[name, value] : losses)
        appended &= m_losses[QString::fromStdString(name)].set(static_cast<double>(step), value);
    m_lastStep = std::max(m_lastStep, step);
    return appended;
}

void RunCurves::setFigures(std::int64_t step, const std::map<std::string, double> &logs)
{
    if (logs.empty())
        return; // lines and events come in the order written: the last one is the newest
    m_figuresStep = step;
    m_figures.clear();
    for (const auto &[name, value] : logs)
        m_figures[QString::fromStdString(name)] = value;
}

bool RunCurves::addStep(const wsss::training::TrainingStep &step)
{
    setFigures(step.step, step.logs);
    bool appended = addLosses(step.step, step.losses);
    appended &= m_lr.set(static_cast<double>(step.step), step.lr);
    return appended;
}

bool RunCurves::addValidation(std::int64_t step, const std::map<std::string, double> &scores)
{
    bool appended = true;
    for (const auto &[name, value] : scores)
        appended &= m_validation[QString::fromStdString(name)].set(static_cast<double>(step), value);
    m_lastStep = std::max(m_lastStep, step);
    return appended;
}

bool RunCurves::addLines(const std::vector<wsss::training::MetricsLine> &lines)
{
    bool appended = true;
    for (const auto &line : lines) {
        appended &= addLosses(line.step, line.losses);
        setFigures(line.step, line.logs);
        if (line.lr)
            appended &= m_lr.set(static_cast<double>(line.step), *line.lr);
        if (!line.val.empty())
            appended &= addValidation(line.step, line.val);
    }
    return appended;
}

void RunCurves::clear()
{
    m_losses.clear();
    m_lr = {};
    m_validation.clear();
    m_lastStep = 0;
    m_figures.clear();
    m_figuresStep = -1;
}

const RunCurves::Series &RunCurves::loss(const QString &name) const
{
    const auto it = m_losses.find(name);
    return it == m_losses.end() ? kNoSeries : it->second;
}

const RunCurves::Series &RunCurves::validationScore(const QString &name) const
{
    const auto it = m_validation.find(name);
    return it == m_validation.end() ? kNoSeries : it->second;
}

} // namespace wsss::ui
