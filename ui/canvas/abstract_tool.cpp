#include "ui/canvas/abstract_tool.h"

#include "ui/canvas/tool_manager.h"

#include <QAction>

namespace wsss::ui {

AbstractTool::AbstractTool(ToolManager *manager, const QString &name, const QString &key,
                           const QKeySequence &shortcut, const QString &toolTip)
    : QObject(manager), m_manager(manager), m_key(key), m_action(new QAction(name, this))
{
    m_action->setObjectName(key + QStringLiteral("ToolAction"));
    m_action->setCheckable(true);
    m_action->setShortcut(shortcut);
    m_action->setToolTip(QStringLiteral("%1 (%2)").arg(toolTip, shortcut.toString(QKeySequence::NativeText)));
}

} // namespace wsss::ui
