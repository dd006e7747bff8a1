#pragma once
// RunCurves: one run's series as (step, value) points, ordered by step — each named loss
// ("total" and the method's own), the learning rate and each validation score ("val_miou", …) —
// fed by live TrainingStep events or by RUN/metrics.jsonl lines. A step is held once per series:
// adding a step that is already there replaces its value, because a resumed run truncates its
// metrics at the checkpoint's step and writes the later lines again.
#include "training/engine/events.h"
#include "training/loop/run_folder.h"

#include <QString>
#include <QVector>

#include <cstdint>
#include <map>
#include <string>
#include <vector>

namespace wsss::ui {

class RunCurves {
public:
    struct Series {
        QVector<double> steps;  // ascending, no step twice
        QVector<double> values; // values[i] at steps[i]

        bool isEmpty() const { return steps.isEmpty(); }
        int size() const { return static_cast<int>(steps.size()); }
        // Adds or replaces the point at `step`; true when it went to the end (the live case).
        bool set(double step, double value);
    };

    // Each returns true when it appended only: every changed series grew at its end. False
    // means a point landed before the end or replaced one, so a plot must take the series anew.
    bool addStep(const wsss::training::TrainingStep &step);
    bool addValidation(std::int64_t step, const std::map<std::string, double> &scores);
    bool addLines(const std::vector<wsss::training::MetricsLine> &lines);
    void clear();

    bool isEmpty() const { return m_losses.empty() && m_lr.isEmpty() && m_validation.empty(); }
    const std::map<QString, Series> &losses() const { return m_losses; }      // by loss name
    const Series &learningRate() const { return m_lr; }
    const std::map<QString, Series> &validation() const { return m_validation; } // by score name
    // The series of that name, or an empty one.
    const Series &loss(const QString &name) const;
    const Series &validationScore(const QString &name) const;
    // The newest step any series holds (0 when empty).
    std::int64_t lastStep() const { return m_lastStep; }
    // The newest step's figures that are not losses (AFA's "ignored" share), shown as text, and
    // that step (-1 when none).
    const std::map<QString, double> &figures() const { return m_figures; }
    std::int64_t figuresStep() const { return m_figuresStep; }

private:
    bool addLosses(std::int64_t step, const std::map<std::string, double> &losses);

    std::map<QString, Series> m_losses;
    Series m_lr;
    std::map<QString, Series> m_validation;
    std::int64_t m_lastStep = 0;
    std::map<QString, double> m_figures;
    std::int64_t m_figuresStep = -1;
    void setFigures(std::int64_t step, const std::map<std::string, double> &logs);
};

} // namespace wsss::ui
