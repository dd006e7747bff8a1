#pragma once
// AcceptRegionTool: a click copies the pseudo-mask's region under the cursor (the 4-connected
// pixels of the rule's pseudo-mask with the clicked pixel's label) into the corrected mask, with
// that label: "the model got this item right". One undo step.
#include "ui/canvas/abstract_tool.h"

namespace wsss::ui {

class AcceptRegionTool : public AbstractTool {
    Q_OBJECT
public:
    explicit AcceptRegionTool(ToolManager *manager);
    void mousePressed(CanvasWidget *canvas, const ToolEvent &event) override;
};

} // namespace wsss::ui
