#include "ui/canvas/tools/brush_tool.h"

#include "ui/canvas/canvas_widget.h"
#include "ui/canvas/tool_manager.h"
#include "ui/project/mask_document.h"

#include <QKeyEvent>
#include <QPainter>

#include <cmath>

namespace wsss::ui {

BrushTool::BrushTool(ToolManager *manager, bool eraser)
    : AbstractTool(manager, eraser ? tr("Eraser") : tr("Brush"), eraser ? QStringLiteral("eraser") : QStringLiteral("brush"),
                   QKeySequence(eraser ? Qt::Key_E : Qt::Key_B),
                   eraser ? tr("Paint background; Ctrl+wheel or [ ] sets the size")
                          : tr("Paint the chosen class; Ctrl+wheel or [ ] sets the size")),
      m_eraser(eraser)
{
}

void BrushTool::deactivated(CanvasWidget *)
{
    if (m_stroking)
        m_stroking->endStroke();
    m_stroking = nullptr;
}

void BrushTool::mousePressed(CanvasWidget *, const ToolEvent &event)
{
    m_cursor = event.image;
    m_hasCursor = true;
    MaskDocument *document = manager()->documentForEdit();
    if (!document || !document->hasMask())
        return;
    m_stroking = document;
    document->beginStroke(m_eraser ? 0 : manager()->label(), manager()->brushDiameter(), event.image);
}

void BrushTool::mouseMoved(CanvasWidget *canvas, const ToolEvent &event, bool buttonDown)
{
    m_cursor = event.image;
    m_hasCursor = true;
    if (buttonDown && m_stroking && m_stroking == canvas->maskDocument())
        m_stroking->continueStroke(event.image);
}

void BrushTool::mouseReleased(CanvasWidget *, const ToolEvent &)
{
    if (m_stroking)
        m_stroking->endStroke();
    m_stroking = nullptr;
}

void BrushTool::resize(int steps)
{
    // About ×1.25 a step, at least one pixel: fine control for small brushes, fast for big ones.
    const int d = manager()->brushDiameter();
    const int next = steps > 0 ? std::max(d + 1, int(std::lround(d * std::pow(1.25, steps))))
                               : std::min(d - 1, int(std::lround(d * std::pow(1.25, steps))));
    manager()->setBrushDiameter(next);
}

bool BrushTool::wheel(CanvasWidget *, const ToolEvent &, int steps)
{
    resize(steps);
    return true;
}

bool BrushTool::keyPressed(CanvasWidget *, QKeyEvent *event)
{
    if (event->key() == Qt::Key_BracketRight) {
        resize(1);
        return true;
    }
    if (event->key() == Qt::Key_BracketLeft) {
        resize(-1);
        return true;
    }
    return false;
}

void BrushTool::paintOverlay(CanvasWidget *canvas, QPainter &painter) const
{
    if (!m_hasCursor)
        return;
    const double r = manager()->brushDiameter() * canvas->zoom() / 2.0;
    const QPointF c = canvas->imageToWidget(m_cursor);
    painter.save();
    painter.setRenderHint(QPainter::Antialiasing);
    painter.setBrush(Qt::NoBrush);
    painter.setPen(QPen(QColor(0, 0, 0, 180), 3));
    painter.drawEllipse(c, r, r);
    painter.setPen(QPen(m_eraser ? QColor(255, 255, 255) : QColor(255, 230, 0), 1));
    painter.drawEllipse(c, r, r);
    painter.restore();
}

} // namespace wsss::ui
