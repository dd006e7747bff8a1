#include "ui/project/threshold_rule.h"

#include <QCoreApplication>

namespace wsss::ui {

const std::vector<ThresholdRuleField> &thresholdRuleFields()
{
    static const std::vector<ThresholdRuleField> fields = [] {
        auto tr = [](const char *text) { return QCoreApplication::translate("ThresholdRule", text); };
        ThresholdRuleField bg;
        bg.key = QStringLiteral("bgThreshold");
        bg.label = tr("Background");
        bg.toolTip = tr("Pixels whose labelled class maps all stay at or below this are background");
        bg.member = &ThresholdRule::bgThreshold;
        return std::vector<ThresholdRuleField>{bg};
    }();
    return fields;
}

} // namespace wsss::ui
