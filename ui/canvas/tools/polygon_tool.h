#pragma once
// PolygonTool: clicks place vertices; a double-click, a click on the first vertex or Enter fills
// the polygon with the manager's label (one undo step); Backspace drops the last vertex, Esc all.
#include "ui/canvas/abstract_tool.h"

#include <QPolygonF>

namespace wsss::ui {

class PolygonTool : public AbstractTool {
    Q_OBJECT
public:
    explicit PolygonTool(ToolManager *manager);
    void deactivated(CanvasWidget *canvas) override { m_points.clear(); }
    void mousePressed(CanvasWidget *canvas, const ToolEvent &event) override;
    void mouseMoved(CanvasWidget *canvas, const ToolEvent &event, bool buttonDown) override;
    bool keyPressed(CanvasWidget *canvas, QKeyEvent *event) override;
    void paintOverlay(CanvasWidget *canvas, QPainter &painter) const override;
    const QPolygonF &points() const { return m_points; }

private:
    void close();

    QPolygonF m_points; // image pixels
    QPointF m_cursor;
};

} // namespace wsss::ui
