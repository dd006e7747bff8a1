#include "ui/project/studio_session.h"

#include "ui/project/rule_fields.h"
#include "vision/refine/dense_crf_params.h"

#include <QDir>
#include <QFileInfo>
#include <QSettings>

namespace wsss::ui {

namespace {

QString absolute(const QString &path)
{
    return QDir::cleanPath(QFileInfo(path).absoluteFilePath());
}

} // namespace

StudioSession StudioSession::load()
{
    const QSettings settings;
    StudioSession s;
    s.project = settings.value(QStringLiteral("session/project")).toString();
    s.data = settings.value(QStringLiteral("session/data")).toString();
    s.split = settings.value(QStringLiteral("session/split")).toString();
    s.checkpoint = settings.value(QStringLiteral("session/checkpoint")).toString();
    s.image = settings.value(QStringLiteral("session/image")).toString();
    return s;
}

void StudioSession::save() const
{
    QSettings settings;
    if (project.isEmpty())
        settings.remove(QStringLiteral("session/project"));
    else
        settings.setValue(QStringLiteral("session/project"), absolute(project));
    if (!data.isEmpty()) {
        settings.setValue(QStringLiteral("session/data"), absolute(data));
        settings.setValue(QStringLiteral("session/split"), split);
        settings.setValue(QStringLiteral("session/image"), image);
    }
    if (!checkpoint.isEmpty())
        settings.setValue(QStringLiteral("session/checkpoint"), checkpoint);
}

void StudioSession::forget(const QString &key, const QString &path)
{
    QSettings settings;
    const QString remembered = settings.value(key).toString();
    if (remembered.isEmpty() || path.isEmpty() || absolute(remembered) != absolute(path))
        return; // a path the last session did not leave: keep what it did
    settings.remove(key);
    if (key == QLatin1String("session/data")) { // the split and image belong to that folder
        settings.remove(QStringLiteral("session/split"));
        settings.remove(QStringLiteral("session/image"));
    }
}

vision::PseudoLabelRule StudioSession::loadRule(const vision::PseudoLabelRule &fallback)
{
    const QSettings settings;
    vision::PseudoLabelRule rule = fallback;
    rule.bgThreshold = settings.value(QStringLiteral("rule/bgThreshold"), rule.bgThreshold).toFloat();
    rule.background = backgroundRuleFromKey(settings.value(QStringLiteral("rule/background")).toString(), rule.background);
    rule.bandLow = settings.value(QStringLiteral("rule/bandLow"), rule.bandLow).toFloat();
    rule.bandHigh = settings.value(QStringLiteral("rule/bandHigh"), rule.bandHigh).toFloat();
    rule.parIterations = settings.value(QStringLiteral("rule/parIterations"), rule.parIterations).toInt();
    rule.crf = settings.value(QStringLiteral("rule/crf"), rule.crf).toBool();
    // A name this build does not know (settings edited by hand) keeps the fallback's.
    const auto preset = settings.value(QStringLiteral("rule/crfPreset")).toString().toStdString();
    if (vision::isDenseCrfPreset(preset))
        rule.crfPreset = preset;
    return rule;
}

void StudioSession::saveRule(const vision::PseudoLabelRule &rule)
{
    QSettings settings;
    settings.setValue(QStringLiteral("rule/bgThreshold"), rule.bgThreshold);
    settings.setValue(QStringLiteral("rule/background"), backgroundRuleKey(rule.background));
    settings.setValue(QStringLiteral("rule/bandLow"), rule.bandLow);
    settings.setValue(QStringLiteral("rule/bandHigh"), rule.bandHigh);
    settings.setValue(QStringLiteral("rule/parIterations"), rule.parIterations);
    settings.setValue(QStringLiteral("rule/crf"), rule.crf);
    settings.setValue(QStringLiteral("rule/crfPreset"), QString::fromStdString(rule.crfPreset));
}

} // namespace wsss::ui
