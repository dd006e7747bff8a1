#include "ui/project/rule_fields.h"

#include <QCoreApplication>

#include <algorithm>
#include <cmath>

namespace wsss::ui {

namespace {

constexpr int kMaxParIterations = 50; // AFA uses 10; beyond 50 nothing visible changes

} // namespace

QString backgroundRuleKey(vision::BackgroundRule rule)
{
    return QString::fromStdString(vision::backgroundRuleName(rule));
}

vision::BackgroundRule backgroundRuleFromKey(const QString &key, vision::BackgroundRule fallback)
{
    if (key == QLatin1String("band"))
        return vision::BackgroundRule::Band;
    if (key == QLatin1String("threshold"))
        return vision::BackgroundRule::Threshold;
    return fallback;
}

vision::PseudoLabelRule clampedRule(vision::PseudoLabelRule r, bool bandHighEdited)
{
    auto unit = [](float v) { return std::isfinite(v) ? std::clamp(v, 0.0f, 1.0f) : 0.0f; };
    r.bgThreshold = unit(r.bgThreshold);
    r.bandLow = unit(r.bandLow);
    r.bandHigh = unit(r.bandHigh);
    if (r.bandLow > r.bandHigh) {
        if (bandHighEdited)
            r.bandLow = r.bandHigh;
        else
            r.bandHigh = r.bandLow;
    }
    r.parIterations = std::clamp(r.parIterations, 0, kMaxParIterations);
    return r;
}

double RuleField::value(const vision::PseudoLabelRule &rule) const
{
    return member ? static_cast<double>(rule.*member) : intMember ? static_cast<double>(rule.*intMember) : 0.0;
}

vision::PseudoLabelRule RuleField::with(const vision::PseudoLabelRule &rule, double value) const
{
    vision::PseudoLabelRule r = rule;
    value = std::clamp(value, minimum, maximum);
    if (member)
        r.*member = static_cast<float>(value);
    else if (intMember)
        r.*intMember = static_cast<int>(std::lround(value));
    return clampedRule(r, member == &vision::PseudoLabelRule::bandHigh);
}

const std::vector<RuleField> &ruleFields()
{
    static const std::vector<RuleField> fields = [] {
        auto tr = [](const char *text) { return QCoreApplication::translate("RuleField", text); };
        RuleField bg;
        bg.key = QStringLiteral("bgThreshold");
        bg.label = tr("Background");
        bg.toolTip = tr("Pixels whose labelled class maps all stay at or below this are background "
                        "(with the CRF: the background's score)");
        bg.member = &vision::PseudoLabelRule::bgThreshold;
        bg.applies = [](const vision::PseudoLabelRule &r) { return r.background == vision::BackgroundRule::Threshold || r.crf; };

        RuleField low;
        low.key = QStringLiteral("bandLow");
        low.label = tr("Band low β_l");
        low.toolTip = tr("Background at or below this score; between β_l and β_h the pixel is ignored (255)");
        low.member = &vision::PseudoLabelRule::bandLow;
        low.applies = [](const vision::PseudoLabelRule &r) { return r.background == vision::BackgroundRule::Band && !r.crf; };

        RuleField high = low;
        high.key = QStringLiteral("bandHigh");
        high.label = tr("Band high β_h");
        high.toolTip = tr("A class where its score is above this; between β_l and β_h the pixel is ignored (255)");
        high.member = &vision::PseudoLabelRule::bandHigh;

        RuleField par;
        par.key = QStringLiteral("parIterations");
        par.label = tr("PAR iterations");
        par.toolTip = tr("Pixel-adaptive refinement of the maps before the decision; 0 = off (AFA uses 10). "
                         "Computed in the background");
        par.minimum = 0;
        par.maximum = kMaxParIterations;
        par.step = 1;
        par.decimals = 0;
        par.intMember = &vision::PseudoLabelRule::parIterations;
        return std::vector<RuleField>{bg, low, high, par};
    }();
    return fields;
}

const RuleField *ruleField(const QString &key)
{
    for (const RuleField &field : ruleFields())
        if (field.key == key)
            return &field;
    return nullptr;
}

} // namespace wsss::ui
