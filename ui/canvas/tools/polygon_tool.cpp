#include "ui/canvas/tools/polygon_tool.h"

#include "ui/canvas/canvas_widget.h"
#include "ui/canvas/tool_manager.h"
#include "ui/project/mask_document.h"

#include <QKeyEvent>
#include <QPainter>

#include <cmath>

namespace wsss::ui {

namespace {
constexpr double kCloseRadius = 6.0; // widget pixels: a click this near the first vertex closes
}

PolygonTool::PolygonTool(ToolManager *manager)
    : AbstractTool(manager, tr("Polygon"), QStringLiteral("polygon"), QKeySequence(Qt::Key_L),
                   tr("Click vertices, double-click or Enter to fill with the chosen class"))
{
}

void PolygonTool::mousePressed(CanvasWidget *canvas, const ToolEvent &event)
{
    if (event.doubleClick) {
        close();
        return;
    }
    if (m_points.size() >= 3) {
        const QPointF first = canvas->imageToWidget(m_points.front());
        if (std::hypot(first.x() - event.widget.x(), first.y() - event.widget.y()) <= kCloseRadius) {
            close();
            return;
        }
    }
    m_points << event.image;
    m_cursor = event.image;
}

void PolygonTool::mouseMoved(CanvasWidget *, const ToolEvent &event, bool)
{
    m_cursor = event.image;
}

bool PolygonTool::keyPressed(CanvasWidget *, QKeyEvent *event)
{
    switch (event->key()) {
    case Qt::Key_Return:
    case Qt::Key_Enter: close(); return true;
    case Qt::Key_Escape: m_points.clear(); return true;
    case Qt::Key_Backspace:
        if (!m_points.isEmpty())
            m_points.removeLast();
        return true;
    default: return false;
    }
}

void PolygonTool::close()
{
    const QPolygonF polygon = m_points;
    m_points.clear();
    if (polygon.size() < 3)
        return;
    if (MaskDocument *document = manager()->documentForEdit(); document && document->hasMask())
        document->fillPolygon(polygon, manager()->label());
}

void PolygonTool::paintOverlay(CanvasWidget *canvas, QPainter &painter) const
{
    if (m_points.isEmpty())
        return;
    QPolygonF widget;
    for (const QPointF &p : m_points)
        widget << canvas->imageToWidget(p);
    widget << canvas->imageToWidget(m_cursor);
    painter.save();
    painter.setRenderHint(QPainter::Antialiasing);
    painter.setPen(QPen(QColor(0, 0, 0, 180), 3));
    painter.drawPolyline(widget);
    painter.setPen(QPen(QColor(255, 230, 0), 1));
    painter.drawPolyline(widget);
    painter.setBrush(QColor(255, 230, 0));
    for (const QPointF &p : m_points)
        painter.drawEllipse(canvas->imageToWidget(p), 3.0, 3.0);
    painter.restore();
}

} // namespace wsss::ui
