#pragma once
// The pseudo-label rule's editable fields: the studio edits the one rule type,
// vision::PseudoLabelRule (LibTorch-free), and this table says how. Adding a number is a member
// of the rule plus a row in ruleFields(); the thresholds dock builds a slider and a spin box per
// row, the HUD a slider per float row that applies, and the canvas passes the rule on to the mask
// (the background decision live, PAR and the CRF through the engine's worker).
#include "vision/labels/pseudo_label_rule.h"

#include <QMetaType>
#include <QString>

#include <vector>

namespace wsss::ui {

// The rule with its values clamped to their ranges and bandLow ≤ bandHigh: β_h follows β_l up,
// or with bandHighEdited β_l follows β_h down.
wsss::vision::PseudoLabelRule clampedRule(wsss::vision::PseudoLabelRule rule, bool bandHighEdited = false);

// "threshold" | "band" (QSettings and combo-box data); an unknown name gives the fallback.
QString backgroundRuleKey(wsss::vision::BackgroundRule rule);
wsss::vision::BackgroundRule backgroundRuleFromKey(const QString &key, wsss::vision::BackgroundRule fallback);

// One editable number of the rule: its range and step, where it lives, and when it applies.
struct RuleField {
    QString key;   // object names: <key>RuleSlider, <key>RuleSpin
    QString label;
    QString toolTip;
    double minimum = 0, maximum = 1, step = 0.01;
    int decimals = 2;
    float wsss::vision::PseudoLabelRule::*member = nullptr;  // a float field, or
    int wsss::vision::PseudoLabelRule::*intMember = nullptr; // an integer one
    bool (*applies)(const wsss::vision::PseudoLabelRule &) = nullptr; // null: always

    double value(const wsss::vision::PseudoLabelRule &rule) const;
    // The rule with this field set (clamped, band kept ordered).
    wsss::vision::PseudoLabelRule with(const wsss::vision::PseudoLabelRule &rule, double value) const;
    bool appliesTo(const wsss::vision::PseudoLabelRule &rule) const { return !applies || applies(rule); }
};

const std::vector<RuleField> &ruleFields();
const RuleField *ruleField(const QString &key); // null for an unknown key

} // namespace wsss::ui

Q_DECLARE_METATYPE(wsss::vision::PseudoLabelRule)
