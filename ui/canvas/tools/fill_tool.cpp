#include "ui/canvas/tools/fill_tool.h"

#include "ui/canvas/tool_manager.h"
#include "ui/project/mask_document.h"

#include <cmath>

namespace wsss::ui {

FillTool::FillTool(ToolManager *manager)
    : AbstractTool(manager, tr("Fill"), QStringLiteral("fill"), QKeySequence(Qt::Key_G),
                   tr("Fill the clicked region with the chosen class"))
{
}

void FillTool::mousePressed(CanvasWidget *, const ToolEvent &event)
{
    if (MaskDocument *document = manager()->documentForEdit(); document && document->hasMask())
        document->fillAt(QPoint(int(std::floor(event.image.x())), int(std::floor(event.image.y()))),
                         manager()->label());
}

} // namespace wsss::ui
