#include "ui/docks/thresholds_dock.h"

#include "vision/refine/dense_crf_params.h"

#include <QCheckBox>
#include <QComboBox>
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

int sliderSteps(const RuleField &f) { return static_cast<int>(std::lround((f.maximum - f.minimum) / f.step)); }

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
    auto *modeLabel = new QLabel(tr("Decision"), body);
    m_modeCombo = new QComboBox(body);
    m_modeCombo->setObjectName(QStringLiteral("backgroundModeCombo"));
    m_modeCombo->addItem(tr("Threshold"), backgroundRuleKey(wsss::vision::BackgroundRule::Threshold));
    m_modeCombo->addItem(tr("Band (β_l, β_h; 255 between)"), backgroundRuleKey(wsss::vision::BackgroundRule::Band));
    m_modeToolTip = tr("Threshold: background at or below one score. Band (AFA): a class above β_h, "
                       "background at or below β_l, ignored (255, hatched) between");
    m_modeCombo->setToolTip(m_modeToolTip);
    grid->addWidget(modeLabel, r, 0);
    grid->addWidget(m_modeCombo, r, 1, 1, 2);
    ++r;
    for (const RuleField &field : ruleFields()) {
        Row row;
        row.field = &field;
        auto *label = new QLabel(field.label, body);
        row.label = label;
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
    m_crfCheck = new QCheckBox(tr("Dense CRF (computed in the background)"), body);
    m_crfCheck->setObjectName(QStringLiteral("crfCheck"));
    m_crfCheck->setToolTip(tr("Dense CRF on [background; maps] after PAR, with the preset's parameters; its argmax "
                              "replaces the threshold or band"));
    grid->addWidget(m_crfCheck, r, 0, 1, 3);
    ++r;
    m_crfPresetLabel = new QLabel(tr("CRF parameters"), body);
    m_crfPresetCombo = new QComboBox(body);
    m_crfPresetCombo->setObjectName(QStringLiteral("crfPresetCombo"));
    for (const std::string &name : wsss::vision::denseCrfPresetNames()) {
        const QString key = QString::fromStdString(name);
        m_crfPresetCombo->addItem(key, key);
        m_crfPresetCombo->setItemData(m_crfPresetCombo->count() - 1,
                                      QString::fromStdString(wsss::vision::denseCrfPreset(name).summary()),
                                      Qt::ToolTipRole);
    }
    m_crfPresetCombo->setToolTip(tr("Which method's CRF parameters (METHODS.md §8.3): psa is ACR's and USAGE's, "
                                    "afa AFA's and ECA's, vitpcm ViT-PCM's"));
    grid->addWidget(m_crfPresetLabel, r, 0);
    grid->addWidget(m_crfPresetCombo, r, 1, 1, 2);
    layout->addLayout(grid);
    connect(m_modeCombo, &QComboBox::currentIndexChanged, this, [this](int i) {
        wsss::vision::PseudoLabelRule rule = m_rule;
        rule.background = backgroundRuleFromKey(m_modeCombo->itemData(i).toString(), wsss::vision::BackgroundRule::Threshold);
        apply(rule);
    });
    connect(m_crfCheck, &QCheckBox::toggled, this, [this](bool on) {
        wsss::vision::PseudoLabelRule rule = m_rule;
        rule.crf = on;
        apply(rule);
    });
    connect(m_crfPresetCombo, &QComboBox::currentIndexChanged, this, [this](int i) {
        wsss::vision::PseudoLabelRule rule = m_rule;
        rule.crfPreset = m_crfPresetCombo->itemData(i).toString().toStdString();
        apply(rule);
    });
    for (const Row &row : m_rows) {
        // Slider steps are live: valueChanged fires while dragging (tracking is on).
        connect(row.slider, &QSlider::valueChanged, this,
                [this, row](int v) { edit(row, row.field->minimum + v * row.field->step); });
        connect(row.spin, &QDoubleSpinBox::valueChanged, this, [this, row](double v) { edit(row, v); });
    }

    auto *buttons = new QHBoxLayout;
    m_paperButton = new QPushButton(tr("Paper defaults"), body);
    m_paperButton->setObjectName(QStringLiteral("resetPaperButton"));
    m_paperButton->setToolTip(tr("Every field at the papers' defaults: threshold %1, band %2–%3, no PAR, no CRF")
                                  .arg(wsss::vision::PseudoLabelRule{}.bgThreshold, 0, 'f', 2)
                                  .arg(wsss::vision::PseudoLabelRule{}.bandLow, 0, 'f', 2)
                                  .arg(wsss::vision::PseudoLabelRule{}.bandHigh, 0, 'f', 2));
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

void ThresholdsDock::setRule(const wsss::vision::PseudoLabelRule &rule)
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
        known ? tr("Background threshold %1, the best of the checkpoint's validation sweep, which scored the plain "
                 "rule: PAR and the CRF go off (Tools → Evaluate split finds the best of a refined rule)")
                  .arg(threshold, 0, 'f', 2)
              : tr("The checkpoint records no validation sweep"));
}

void ThresholdsDock::resetToPaper()
{
    apply(wsss::vision::PseudoLabelRule{});
}

void ThresholdsDock::resetToCheckpoint()
{
    if (!std::isfinite(m_checkpointBest))
        return;
    wsss::vision::PseudoLabelRule rule;
    rule.bgThreshold = static_cast<float>(m_checkpointBest);
    apply(rule);
}

void ThresholdsDock::edit(const Row &row, double value)
{
    apply(row.field->with(m_rule, value));
}

void ThresholdsDock::apply(const wsss::vision::PseudoLabelRule &rule)
{
    if (rule == m_rule) {
        showRule(); // a slider may sit between two spin-box values: snap it back
        return;
    }
    m_rule = rule;
    showRule();
    Q_EMIT ruleChanged(m_rule);
}

QString ThresholdsDock::ownBackgroundNote() const
{
    return tr("This map scores the background itself: the pseudo-mask is the argmax over its background and "
              "the classes (PAR and the CRF still refine it), so no threshold or band decides it");
}

void ThresholdsDock::setOwnBackground(bool own)
{
    if (own == m_ownBackground)
        return;
    m_ownBackground = own;
    showRule();
}

void ThresholdsDock::showRule()
{
    for (const Row &row : m_rows) {
        const double value = row.field->value(m_rule);
        const QSignalBlocker blockSlider(row.slider);
        const QSignalBlocker blockSpin(row.spin);
        row.slider->setValue(static_cast<int>(std::lround((value - row.field->minimum) / row.field->step)));
        row.spin->setValue(value);
        // The threshold and band (the float fields) decide nothing where the map has a background.
        const bool decides = !(m_ownBackground && row.field->member);
        const bool applies = row.field->appliesTo(m_rule) && decides;
        row.label->setEnabled(applies);
        row.slider->setEnabled(applies);
        row.spin->setEnabled(applies);
        const QString why = decides ? row.field->toolTip : ownBackgroundNote() + QStringLiteral("\n\n") + row.field->toolTip;
        row.slider->setToolTip(why);
        row.spin->setToolTip(why);
    }
    m_modeCombo->setEnabled(!m_ownBackground);
    m_modeCombo->setToolTip(m_ownBackground ? ownBackgroundNote() : m_modeToolTip);
    {
        const QSignalBlocker blockMode(m_modeCombo);
        m_modeCombo->setCurrentIndex(std::max(0, m_modeCombo->findData(backgroundRuleKey(m_rule.background))));
        const QSignalBlocker blockCrf(m_crfCheck);
        m_crfCheck->setChecked(m_rule.crf);
        const QSignalBlocker blockPreset(m_crfPresetCombo);
        m_crfPresetCombo->setCurrentIndex(m_crfPresetCombo->findData(QString::fromStdString(m_rule.crfPreset)));
        m_crfPresetLabel->setEnabled(m_rule.crf);
        m_crfPresetCombo->setEnabled(m_rule.crf);
    }
}

} // namespace wsss::ui
