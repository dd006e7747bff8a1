#include "ui/canvas/tools/query_tool.h"

namespace wsss::ui {

QueryTool::QueryTool(ToolManager *manager)
    : AbstractTool(manager, tr("Query patch"), QStringLiteral("query"), QKeySequence(Qt::Key_Q),
                   tr("Click a patch to see its attention and affinity"))
{
}

} // namespace wsss::ui
