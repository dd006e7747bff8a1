#pragma once
// FillTool: a click fills the 4-connected region of the clicked pixel's label with the manager's
// label (one undo step).
#include "ui/canvas/abstract_tool.h"

namespace wsss::ui {

class FillTool : public AbstractTool {
    Q_OBJECT
public:
    explicit FillTool(ToolManager *manager);
    void mousePressed(CanvasWidget *canvas, const ToolEvent &event) override;
};

} // namespace wsss::ui
