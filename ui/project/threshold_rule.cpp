#include "ui/project/threshold_rule.h"

#include <QCoreApplication>

#include <algorithm>
#include <cmath>

namespace wsss::ui {

namespace {

constexpr int kMaxParIterations = 50; // AFA uses 10; beyond 50 nothing visible changes

} // namespace

QString backgroundModeName(BackgroundMode mode)
{
    return mode == BackgroundMode::Band ? QStringLiteral("band") : QStringLiteral("threshold");
}

BackgroundMode backgroundModeFromName(const QString &name, BackgroundMode fallback)
{
    if (name == QLatin1String("band"))
        return BackgroundMode::Band;
    if (name == QLatin1String("threshold"))
        return BackgroundMode::Threshold;
    return fallback;
}

ThresholdRule ThresholdRule::clamped(bool bandHighEdited) const
{
    auto unit = [](float v) { return std::isfinite(v) ? std::clamp(v, 0.0f, 1.0f) : 0.0f; };
    ThresholdRule r = *this;
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

wsss::training::MaskRule ThresholdRule::toMaskRule() const
{
    wsss::training::MaskRule m;
    m.band = background == BackgroundMode::Band;
    m.bgThreshold = bgThreshold;
    m.bandLow = bandLow;
    m.bandHigh = bandHigh;
    m.parIterations = parIterations;
    m.crf = crf;
    return m;
}

double ThresholdRuleField::value(const ThresholdRule &rule) const
{
    return member ? static_cast<double>(rule.*member) : intMember ? static_cast<double>(rule.*intMember) : 0.0;
}

ThresholdRule ThresholdRuleField::with(const ThresholdRule &rule, double value) const
{
    ThresholdRule r = rule;
    value = std::clamp(value, minimum, maximum);
    if (member)
        r.*member = static_cast<float>(value);
    else if (intMember)
        r.*intMember = static_cast<int>(std::lround(value));
    return r.clamped(member == &ThresholdRule::bandHigh);
}

const std::vector<ThresholdRuleField> &thresholdRuleFields()
{
    static const std::vector<ThresholdRuleField> fields = [] {
        auto tr = [](const char *text) { return QCoreApplication::translate("ThresholdRule", text); };
        ThresholdRuleField bg;
        bg.key = QStringLiteral("bgThreshold");
        bg.label = tr("Background");
        bg.toolTip = tr("Pixels whose labelled class maps all stay at or below this are background "
                        "(with the CRF: the background's score)");
        bg.member = &ThresholdRule::bgThreshold;
        bg.applies = [](const ThresholdRule &r) { return r.background == BackgroundMode::Threshold || r.crf; };

        ThresholdRuleField low;
        low.key = QStringLiteral("bandLow");
        low.label = tr("Band low β_l");
        low.toolTip = tr("Background at or below this score; between β_l and β_h the pixel is ignored (255)");
        low.member = &ThresholdRule::bandLow;
        low.applies = [](const ThresholdRule &r) { return r.background == BackgroundMode::Band && !r.crf; };

        ThresholdRuleField high = low;
        high.key = QStringLiteral("bandHigh");
        high.label = tr("Band high β_h");
        high.toolTip = tr("A class where its score is above this; between β_l and β_h the pixel is ignored (255)");
        high.member = &ThresholdRule::bandHigh;

        ThresholdRuleField par;
        par.key = QStringLiteral("parIterations");
        par.label = tr("PAR iterations");
        par.toolTip = tr("Pixel-adaptive refinement of the maps before the decision; 0 = off (AFA uses 10). "
                         "Computed in the background");
        par.minimum = 0;
        par.maximum = kMaxParIterations;
        par.step = 1;
        par.decimals = 0;
        par.intMember = &ThresholdRule::parIterations;
        return std::vector<ThresholdRuleField>{bg, low, high, par};
    }();
    return fields;
}

const ThresholdRuleField *thresholdRuleField(const QString &key)
{
    for (const ThresholdRuleField &field : thresholdRuleFields())
        if (field.key == key)
            return &field;
    return nullptr;
}

} // namespace wsss::ui
