#pragma once
// BrushTool: paints a round brush of the manager's diameter with its label (the eraser: with
// background, 0) while the button is down; mouse-down to mouse-up is one undo step. Ctrl+wheel
// and [ ] change the diameter; the outline follows the cursor.
#include "ui/canvas/abstract_tool.h"

namespace wsss::ui {

class MaskDocument;

class BrushTool : public AbstractTool {
    Q_OBJECT
public:
    BrushTool(ToolManager *manager, bool eraser);
    void deactivated(CanvasWidget *canvas) override;
    void mousePressed(CanvasWidget *canvas, const ToolEvent &event) override;
    void mouseMoved(CanvasWidget *canvas, const ToolEvent &event, bool buttonDown) override;
    void mouseReleased(CanvasWidget *canvas, const ToolEvent &event) override;
    bool wheel(CanvasWidget *canvas, const ToolEvent &event, int steps) override;
    bool keyPressed(CanvasWidget *canvas, QKeyEvent *event) override;
    void paintOverlay(CanvasWidget *canvas, QPainter &painter) const override;

private:
    void resize(int steps);

    bool m_eraser;
    MaskDocument *m_stroking = nullptr; // the document of the stroke in progress
    QPointF m_cursor;                   // image pixels
    bool m_hasCursor = false;
};

} // namespace wsss::ui
