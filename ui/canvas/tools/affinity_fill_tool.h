#pragma once
// AffinityFillTool: fills what the model's own affinity connects to a patch. A click on a patch
// previews the patches whose affinity to it reaches the threshold (the row scaled by its largest
// value, so one threshold reads alike for a sigmoid affinity and for attention); Ctrl+wheel or
// [ ] moves the threshold with the preview following; a second click on the same patch or Enter
// fills the previewed region with the manager's label (one undo step), Esc drops it. The affinity
// is the inspection's first (AFA's learned affinity, ACR's patch affinity, …), else the last
// block's attention averaged over heads. With the manager's snap on, the patch-grid region is
// refined on the worker (PAR, or the dense CRF, on a soft map of the region) and the preview
// follows the image's edges once it arrives.
#include "ui/canvas/abstract_tool.h"
#include "ui/project/mask_edits.h"

#include <QString>

#include <vector>

namespace wsss::training {
struct Inspection;
struct RefinedMaps;
}

namespace wsss::ui {

// The pixels of the patches whose affinity to `patch` (row-major patch index) reaches
// `threshold` × the row's largest value, and the patch itself, in an image of the inspection's size; `source` says
// which affinity was read. Empty when the inspection has neither affinity nor attention.
RegionMask affinityRegion(const wsss::training::Inspection &inspection, int patch, float threshold,
                          QString *source = nullptr);

class AffinityFillTool : public AbstractTool {
    Q_OBJECT
public:
    explicit AffinityFillTool(ToolManager *manager);
    void deactivated(CanvasWidget *canvas) override;
    void mousePressed(CanvasWidget *canvas, const ToolEvent &event) override;
    bool wheel(CanvasWidget *canvas, const ToolEvent &event, int steps) override;
    bool keyPressed(CanvasWidget *canvas, QKeyEvent *event) override;
    void paintOverlay(CanvasWidget *canvas, QPainter &painter) const override;
    int previewPatch() const { return m_patch; }       // -1: no preview
    const RegionMask &preview() const { return m_region; }

    bool snapPending() const { return m_snapPending; }
    // The worker's refinement of a snap request (ToolManager::regionSnapped); others are ignored.
    void snapArrived(const wsss::training::RefinedMaps &refined);

private:
    void recompute(CanvasWidget *canvas);
    void requestSnap(CanvasWidget *canvas);
    void apply();

    int m_patch = -1;
    RegionMask m_region;
    QString m_source;
    bool m_snapPending = false;
    int m_snapRequest = 0;  // numbers each request: a late answer to an older one is dropped
    QString m_snapKind;     // the kind the latest request's map carries
};

} // namespace wsss::ui
