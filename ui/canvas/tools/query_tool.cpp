#include "ui/canvas/tools/query_tool.h"

#include "ui/canvas/canvas_widget.h"

namespace wsss::ui {

QueryTool::QueryTool(ToolManager *manager)
    : AbstractTool(manager, tr("Query patch"), QStringLiteral("query"), QKeySequence(Qt::Key_Q),
                   tr("Click a patch to see its attention and affinity"))
{
}

void QueryTool::mousePressed(CanvasWidget *canvas, const ToolEvent &event)
{
    canvas->selectQueryAt(event.widget);
}

void QueryTool::mouseMoved(CanvasWidget *canvas, const ToolEvent &event, bool buttonDown)
{
    if (buttonDown)
        canvas->selectQueryAt(event.widget);
}

} // namespace wsss::ui
