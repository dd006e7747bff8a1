#pragma once
// ThresholdRule: the studio's copy of the pseudo-label rule (vision::PseudoLabelRule), the one
// source of truth that the toolbar, the thresholds dock, the HUD and the canvas share. Adding a
// number is a member here plus a row in thresholdRuleFields(); the dock builds a slider and a
// spin box per row, the HUD a slider per float row that applies, and the canvas passes the rule
// on to the mask (the background decision live, PAR and the CRF through the engine's worker).
#include "training/methods/inspection.h"

#include <QMetaType>
#include <QString>

#include <vector>

namespace wsss::ui {

// How the background is decided from a pixel's best class score v (METHODS.md §8.4).
enum class BackgroundMode {
    Threshold, // background where v ≤ bgThreshold
    Band,      // AFA Eq. 4: class above bandHigh, background at or below bandLow, 255 (ignore) between
};

QString backgroundModeName(BackgroundMode mode); // "threshold" | "band": QSettings keys
BackgroundMode backgroundModeFromName(const QString &name, BackgroundMode fallback = BackgroundMode::Threshold);

struct ThresholdRule {
    // A pixel is background when every labelled class's map is ≤ this (ties to background); also
    // the CRF's background score. 0.45: the CAM papers' default (METHODS.md, common.md §3.6).
    float bgThreshold = 0.45f;
    BackgroundMode background = BackgroundMode::Threshold;
    float bandLow = 0.35f;  // β_l, score in 0..1 (AFA 0.35)
    float bandHigh = 0.55f; // β_h, score in bandLow..1 (AFA 0.55)
    int parIterations = 0;  // PAR on the maps before the decision; 0 = off (AFA 10)
    bool crf = false;       // dense CRF (PSA parameters) after PAR; its argmax replaces the decision

    bool operator==(const ThresholdRule &o) const
    {
        return bgThreshold == o.bgThreshold && background == o.background && bandLow == o.bandLow
               && bandHigh == o.bandHigh && parIterations == o.parIterations && crf == o.crf;
    }
    bool operator!=(const ThresholdRule &o) const { return !(*this == o); }

    // Values clamped to their ranges and bandLow ≤ bandHigh: β_h follows β_l up, or with
    // bandHighEdited β_l follows β_h down.
    ThresholdRule clamped(bool bandHighEdited = false) const;
    // PAR or the CRF: computed by the engine's worker, not on a slider step.
    bool refines() const { return parIterations > 0 || crf; }
    wsss::training::MaskRule toMaskRule() const;
};

// One editable number of the rule: its range and step, where it lives, and when it applies.
struct ThresholdRuleField {
    QString key;   // object names: <key>RuleSlider, <key>RuleSpin
    QString label;
    QString toolTip;
    double minimum = 0, maximum = 1, step = 0.01;
    int decimals = 2;
    float ThresholdRule::*member = nullptr;  // a float field, or
    int ThresholdRule::*intMember = nullptr; // an integer one
    bool (*applies)(const ThresholdRule &) = nullptr; // null: always

    double value(const ThresholdRule &rule) const;
    // The rule with this field set (clamped, band kept ordered).
    ThresholdRule with(const ThresholdRule &rule, double value) const;
    bool appliesTo(const ThresholdRule &rule) const { return !applies || applies(rule); }
};

const std::vector<ThresholdRuleField> &thresholdRuleFields();
const ThresholdRuleField *thresholdRuleField(const QString &key); // null for an unknown key

} // namespace wsss::ui

Q_DECLARE_METATYPE(wsss::ui::ThresholdRule)
