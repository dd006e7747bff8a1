#include "ui/docks/thresholds_dock.h"

#include <QDoubleSpinBox>
#include <QGridLayout>
#include <QHBoxLayout>
#include <QLabel>
#include <QPushButton>
#include <QSignalBlocker>
#include <QSlider>
#include <QVBoxLayout>

#include <algorithm>
#include <cmath>
#include <limits>

namespace wsss::ui {

namespace {

int sliderSteps(const ThresholdRuleField &f) { return static_cast<int>(std::lround((f.maximum - f.minimum) / f.step)); }

} // namespace

ThresholdsDock::ThresholdsDock(QWidget *parent)
    : QDockWidget(tr("Thresholds"), parent), m_checkpointBest(std::numeric_limits<double>::quiet_NaN())
{
    setObjectName(QStringLiteral("ThresholdsDock"));
    auto *body = new QWidget(this);
    auto *layout = new QVBoxLayout(body);
    layout->setContentsMargins(6, 6, 6, 6);

    auto *grid = new QGridLayout;
    grid->setColumnStretch(1, 1);
    int r = 0;
    for (const ThresholdRuleField &field : thresholdRuleFields()) {
        Row row;
        row.field = &field;
        auto *label = new QLabel(field.label, body);
        label->setToolTip(field.toolTip);
        row.slider = new QSlider(Qt::Horizontal, body);
        row.slider->setObjectName(field.key + QStringLiteral("RuleSlider"));
        row.slider->setRange(0, sliderSteps(field));
        row.slider->setToolTip(field.toolTip);
        row.spin = new QDoubleSpinBox(body);
        row.spin->setObjectName(field.key + QStringLiteral("RuleSpin"));
        row.spin->setRange(field.minimum, field.maximum);
        row.spin->setSingleStep(field.step);
        row.spin->setDecimals(field.decimals);
        row.spin->setToolTip(field.toolTip);
        grid->addWidget(label, r, 0);
        grid->addWidget(row.slider, r, 1);
        grid->addWidget(row.spin, r, 2);
        ++r;
        m_rows.push_back(row);
    }
    layout->addLayout(grid);
    for (const Row &row : m_rows) {
        // Slider steps are live: valueChanged fires while dragging (tracking is on).
        connect(row.slider, &QSlider::valueChanged, this,
                [this, row](int v) { edit(row, row.field->minimum + v * row.field->step); });
        connect(row.spin, &QDoubleSpinBox::valueChanged, this, [this, row](double v) { edit(row, v); });
    }

    auto *buttons = new QHBoxLayout;
    m_paperButton = new QPushButton(tr("Paper defaults"), body);
    m_paperButton->setObjectName(QStringLiteral("resetPaperButton"));
    m_paperButton->setToolTip(tr("Background threshold %1, the papers' default").arg(ThresholdRule{}.bgThreshold, 0, 'f', 2));
    m_checkpointButton = new QPushButton(tr("Checkpoint best"), body);
    m_checkpointButton->setObjectName(QStringLiteral("resetCheckpointButton"));
    buttons->addWidget(m_paperButton);
    buttons->addWidget(m_checkpointButton);
    layout->addLayout(buttons);
    layout->addStretch(1);
    setWidget(body);

    connect(m_paperButton, &QPushButton::clicked, this, &ThresholdsDock::resetToPaper);
    connect(m_checkpointButton, &QPushButton::clicked, this, &ThresholdsDock::resetToCheckpoint);
    setCheckpointBest(m_checkpointBest);
    showRule();
}

void ThresholdsDock::setRule(const ThresholdRule &rule)
{
    m_rule = rule;
    showRule();
}

void ThresholdsDock::setCheckpointBest(double threshold)
{
    m_checkpointBest = threshold;
    const bool known = std::isfinite(threshold);
    m_checkpointButton->setEnabled(known);
    m_checkpointButton->setToolTip(
        known ? tr("Background threshold %1, the best of the checkpoint's validation sweep").arg(threshold, 0, 'f', 2)
              : tr("The checkpoint records no validation sweep"));
}

void ThresholdsDock::resetToPaper()
{
    apply(ThresholdRule{});
}

void ThresholdsDock::resetToCheckpoint()
{
    if (!std::isfinite(m_checkpointBest))
        return;
    ThresholdRule rule;
    rule.bgThreshold = static_cast<float>(m_checkpointBest);
    apply(rule);
}

void ThresholdsDock::edit(const Row &row, double value)
{
    ThresholdRule rule = m_rule;
    rule.*(row.field->member) = static_cast<float>(std::clamp(value, row.field->minimum, row.field->maximum));
    apply(rule);
}

void ThresholdsDock::apply(const ThresholdRule &rule)
{
    if (rule == m_rule) {
        showRule(); // a slider may sit between two spin-box values: snap it back
        return;
    }
    m_rule = rule;
    showRule();
    Q_EMIT ruleChanged(m_rule);
}

void ThresholdsDock::showRule()
{
    for (const Row &row : m_rows) {
        const double value = m_rule.*(row.field->member);
        const QSignalBlocker blockSlider(row.slider);
        const QSignalBlocker blockSpin(row.spin);
        row.slider->setValue(static_cast<int>(std::lround((value - row.field->minimum) / row.field->step)));
        row.spin->setValue(value);
    }
}

} // namespace wsss::ui
