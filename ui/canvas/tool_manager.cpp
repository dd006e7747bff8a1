#include "ui/canvas/tool_manager.h"

#include "ui/canvas/canvas_widget.h"
#include "ui/canvas/tools/accept_region_tool.h"
#include "training/methods/inspection.h"
#include "ui/canvas/tools/affinity_fill_tool.h"
#include "ui/canvas/tools/brush_tool.h"
#include "ui/canvas/tools/fill_tool.h"
#include "ui/canvas/tools/polygon_tool.h"
#include "ui/canvas/tools/query_tool.h"

#include <QAction>
#include <QActionGroup>

#include <algorithm>

namespace wsss::ui {

ToolManager::ToolManager(CanvasWidget *canvas, QObject *parent)
    : QObject(parent), m_canvas(canvas), m_group(new QActionGroup(this))
{
    m_group->setExclusive(true);
    m_tools = {new QueryTool(this),   new BrushTool(this, false), new BrushTool(this, true),
               new FillTool(this),    new PolygonTool(this),      new AcceptRegionTool(this),
               new AffinityFillTool(this)};
    for (AbstractTool *tool : m_tools) {
        m_group->addAction(tool->action());
        connect(tool->action(), &QAction::triggered, this, [this, tool] { setCurrent(tool); });
    }
    setCurrent(m_tools.front());
}

AbstractTool *ToolManager::tool(const QString &key) const
{
    for (AbstractTool *t : m_tools)
        if (t->key() == key)
            return t;
    return nullptr;
}

void ToolManager::setCurrent(AbstractTool *tool)
{
    if (!tool || tool == m_current)
        return;
    m_current = tool;
    tool->action()->setChecked(true);
    // The query tool is the canvas's own behaviour (select and scrub patches).
    m_canvas->setTool(tool->editsMask() ? tool : nullptr);
    Q_EMIT currentChanged(tool);
}

void ToolManager::setLabel(std::uint8_t label)
{
    if (label == m_label)
        return;
    m_label = label;
    m_canvas->refreshToolOverlay();
    Q_EMIT labelChanged(label);
}

void ToolManager::setBrushDiameter(int diameter)
{
    diameter = std::clamp(diameter, 1, kMaxBrush);
    if (diameter == m_brush)
        return;
    m_brush = diameter;
    m_canvas->refreshToolOverlay();
    Q_EMIT brushDiameterChanged(diameter);
}

void ToolManager::regionSnapped(const std::shared_ptr<const training::RefinedMaps> &refined)
{
    if (!refined)
        return;
    for (AbstractTool *t : m_tools)
        if (auto *fill = qobject_cast<AffinityFillTool *>(t))
            fill->snapArrived(*refined);
}

void ToolManager::setSnap(Snap snap)
{
    if (snap == m_snap)
        return;
    m_snap = snap;
    Q_EMIT snapChanged(snap);
}

void ToolManager::setAffinityThreshold(float threshold)
{
    threshold = std::clamp(threshold, 0.0f, 1.0f);
    if (threshold == m_affinityThreshold)
        return;
    m_affinityThreshold = threshold;
    Q_EMIT affinityThresholdChanged(threshold);
}

} // namespace wsss::ui
