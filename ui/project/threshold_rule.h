#pragma once
// ThresholdRule: the studio's copy of the pseudo-label rule (vision::PseudoLabelRule), the one
// source of truth that the toolbar, the thresholds dock and the canvas share. Adding a field is
// a member here plus a row in thresholdRuleFields(); the dock builds a slider and a spin box
// per row, and the canvas passes the rule on to the mask.
#include <QMetaType>
#include <QString>

#include <vector>

namespace wsss::ui {

struct ThresholdRule {
    // A pixel is background when every labelled class's map is ≤ this (ties to background).
    // 0.45: the CAM papers' default (METHODS.md, common.md §3.6).
    float bgThreshold = 0.45f;

    bool operator==(const ThresholdRule &o) const { return bgThreshold == o.bgThreshold; }
    bool operator!=(const ThresholdRule &o) const { return !(*this == o); }
};

// One editable number of the rule: its range and step, and where it lives.
struct ThresholdRuleField {
    QString key;   // object names: <key>RuleSlider, <key>RuleSpin
    QString label;
    QString toolTip;
    double minimum = 0, maximum = 1, step = 0.01;
    int decimals = 2;
    float ThresholdRule::*member = nullptr;
};

const std::vector<ThresholdRuleField> &thresholdRuleFields();

} // namespace wsss::ui

Q_DECLARE_METATYPE(wsss::ui::ThresholdRule)
