#include "ui/canvas/tools/accept_region_tool.h"

#include "ui/canvas/canvas_widget.h"
#include "ui/canvas/tool_manager.h"
#include "ui/project/mask_document.h"

#include <cmath>

namespace wsss::ui {

AcceptRegionTool::AcceptRegionTool(ToolManager *manager)
    : AbstractTool(manager, tr("Accept region"), QStringLiteral("acceptRegion"), QKeySequence(Qt::Key_R),
                   tr("Click a region of the pseudo-mask to copy it, with its class, into the corrected mask"))
{
}

void AcceptRegionTool::mousePressed(CanvasWidget *canvas, const ToolEvent &event)
{
    const auto &inspection = canvas->inspection();
    if (!inspection)
        return;
    const int w = inspection->imageWidth, h = inspection->imageHeight;
    const auto &labels = canvas->maskLabels(); // the rule's pseudo-mask, not the corrected one
    const QPoint p(int(std::floor(event.image.x())), int(std::floor(event.image.y())));
    if (labels.size() != size_t(w) * h || p.x() < 0 || p.y() < 0 || p.x() >= w || p.y() >= h)
        return;
    MaskDocument *document = manager()->documentForEdit();
    if (!document || !document->hasMask() || document->size() != QSize(w, h))
        return;
    const LabelImage pseudo(w, h, labels);
    const std::uint8_t label = pseudo.at(p.x(), p.y());
    document->applyRegion(floodRegion(pseudo, p), label, tr("Accept region"));
}

} // namespace wsss::ui
