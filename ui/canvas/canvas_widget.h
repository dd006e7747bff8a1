#pragma once
// CanvasWidget: the image of the current inspection with its layers — the selected class map as
// a heatmap, or the pseudo-mask under the rule (ignored pixels, 255, hatched white), the patch
// grid and the query patch. The rule's decision (threshold or band) is applied live from the
// cached maps; its refinements (PAR, CRF) are asked of the engine's worker through
// refinementRequested while the mask is shown, and the result, given back with setRefinement(),
// replaces the unrefined mask when it arrives (thresholds then apply live to the refined maps). Owns the view transform (widget = offset + zoom · image pixel). The old inspection
// stays on screen until setInspection() brings the next one. All drawing is in paintScene().
// Hosts the overlay HUD (HudOverlay, a Dear ImGui panel in a QOpenGLWidget at the top-right
// corner), made on first show and toggled by hudAction() (H or F1); while hidden it takes no
// input, so clicks anywhere select query patches. The left button goes to the active tool
// (AbstractTool: the query patch by default, or an edit tool that changes the image's
// MaskDocument); the middle and right buttons pan, the wheel zooms (with Ctrl it goes to the tool:
// brush size, affinity threshold). When the image has a MaskDocument, the mask shown is its
// (corrected) mask instead of the rule's pseudo-mask.
#include "training/methods/inspection.h"
#include "ui/canvas/abstract_tool.h"
#include "ui/canvas/color_map.h"
#include "ui/canvas/mask_preview.h"
#include "ui/project/rule_fields.h"

#include <QImage>
#include <QPointF>
#include <QPointer>
#include <QRgb>
#include <QString>
#include <QWidget>

#include <memory>

class QAction;

namespace wsss::ui {

class AbstractTool;
class HudOverlay;
class MaskDocument;

// A jet-like colour map for t in [0, 1]: blue → cyan → yellow → red.
QRgb jetColor(float t);

class CanvasWidget : public QWidget {
    Q_OBJECT
public:
    explicit CanvasWidget(QWidget *parent = nullptr);

    void setInspection(std::shared_ptr<const wsss::training::Inspection> inspection);
    const std::shared_ptr<const wsss::training::Inspection> &inspection() const { return m_inspection; }

    // The class whose map is shown (index into Inspection::classNames); -1 shows none.
    void setMapClass(int classIndex);
    int mapClass() const { return m_mapClass; }
    // Which map kind ("cam", "seg", …) the heatmap and the pseudo-mask use; "" = the first present.
    void setMapKind(const QString &kind);
    QString mapKind() const; // the kind actually in use
    void setOverlayOpacity(double opacity); // 0..1
    void setBgThreshold(float threshold);   // 0..1; the rule's other fields stay
    // The pseudo-mask is recomputed from the cached inspection on every change (no model call).
    void setRule(const wsss::vision::PseudoLabelRule &rule);
    // The worker's refinement of the current inspection's maps (ignored when it is for another
    // image or map kind); dropped with the inspection.
    void setRefinement(std::shared_ptr<const wsss::training::RefinedMaps> refined);
    const std::shared_ptr<const wsss::training::RefinedMaps> &refinement() const { return m_preview.refinement(); }
    // The rule refines, the mask is shown and the matching refinement has not arrived yet (nor
    // failed).
    bool refinementPending() const;
    // The last refinement asked for failed (the owner shows why): the unrefined mask stays until
    // the rule, the kind or the image changes and asks again.
    void refinementFailed();
    // The drawn mask's labels (class index, 0 background, 255 ignored), image-sized row-major.
    const std::vector<std::uint8_t> &maskLabels() const { return m_preview.labels(); }
    const wsss::vision::PseudoLabelRule &rule() const { return m_preview.rule(); }
    void setColorMap(ColorMap map); // of the class-map heatmap
    ColorMap colorMap() const { return m_colorMap; }
    // The pseudo-mask as drawn (palette colours, background transparent), image-sized.
    const QImage &maskImage() const { return m_preview.image(); }
    void setShowMask(bool show);            // the pseudo-mask replaces the heatmap
    bool showMask() const { return m_showMask; }
    void setShowGrid(bool show);

    // The image's corrected mask (owned by the project document; null: none yet). Shown instead of
    // the pseudo-mask, and redrawn where it changes.
    void setMaskDocument(MaskDocument *document);
    MaskDocument *maskDocument() const { return m_document; }
    // The tool the left button drives (not owned; null = select query patches).
    void setTool(AbstractTool *tool);
    AbstractTool *tool() const { return m_tool.data(); }
    void refreshToolOverlay() { update(); } // a tool's preview changed

    // The query is a token index (prefixTokens + row · gridWidth + col); emits queryChanged.
    void setQueryToken(int token);
    int queryToken() const { return m_query; }

    QPointF widgetToImage(QPointF widgetPos) const;
    QPointF imageToWidget(QPointF imagePos) const;
    double zoom() const { return m_zoom; } // widget pixels per image pixel
    void fitToWindow();
    void zoomAt(QPointF widgetPos, double factor); // keeps the image point under widgetPos still
    void panBy(QPointF widgetDelta);

    // The overlay HUD: cursor readout, every map's value under the cursor, rule sliders, frame
    // times. hud() is null until it is first shown.
    void setHudVisible(bool visible);
    bool hudVisible() const;
    HudOverlay *hud() const { return m_hud; }
    QAction *hudAction() const { return m_hudAction; } // checkable; H and F1 in the window
    double frameMs() const { return m_frameMs; }       // the last paint of the scene
    // The HUD reads out this image pixel as if the cursor were on it (scripts, screenshots).
    void setHoverPixel(QPointF imagePixel);

Q_SIGNALS:
    void queryChanged(int token);
    // A HUD slider moved: the rule it asks for (the owner of the rule applies it, then setRule()).
    void ruleEdited(const wsss::vision::PseudoLabelRule &rule);
    // The mask needs the rule's refinements of the current inspection's `kind` maps: the owner
    // submits them to the engine and hands the result to setRefinement().
    void refinementRequested(const QString &kind, const wsss::vision::PseudoLabelRule &rule);
    void hoverChanged(const QString &text); // what lies under the cursor, for the status bar
    void showMaskChanged(bool shown);

protected:
    void paintEvent(QPaintEvent *event) override;
    void resizeEvent(QResizeEvent *event) override;
    void wheelEvent(QWheelEvent *event) override;
    void mousePressEvent(QMouseEvent *event) override;
    void mouseMoveEvent(QMouseEvent *event) override;
    void mouseReleaseEvent(QMouseEvent *event) override;
    void mouseDoubleClickEvent(QMouseEvent *event) override;
    void keyPressEvent(QKeyEvent *event) override;
    void leaveEvent(QEvent *event) override;

private:
    void paintScene(QPainter &painter);
    void rebuildDocumentMask(const QRect &rect);
    ToolEvent toolEvent(const QPointF &widgetPos, Qt::KeyboardModifiers modifiers) const; // the corrected mask's colours in rect (image pixels)
    void rebuildHeatmap();
    void rebuildMask();
    void requestRefinement(); // when the shown mask needs a refinement not yet asked for
    void selectQueryAt(QPointF widgetPos);
    void updateHover(QPointF widgetPos);
    void refreshHud(); // the HUD's state from the inspection, the cursor and the rule
    QSizeF imageSize() const;
    QRectF patchRect(int token) const; // in image pixels

    std::shared_ptr<const wsss::training::Inspection> m_inspection;
    QImage m_image;   // the inspection's RGB
    QImage m_scaledImage; // m_image at the current zoom, made in paintScene
    qint64 m_scaledFrom = 0; // cacheKey of the m_image it was made from
    QImage m_heatmap; // m_mapClass's map, jet, opaque
    MaskPreview m_preview; // the rule's pseudo-mask of m_inspection
    MaskDocument *m_document = nullptr;
    QImage m_documentMask; // m_document's mask in palette colours
    QPointer<AbstractTool> m_tool; // owned by the ToolManager, which may go first

    int m_mapClass = -1;
    double m_opacity = 0.5;
    ColorMap m_colorMap = ColorMap::Jet;
    bool m_showMask = false;
    bool m_showGrid = true;
    int m_query = -1;

    double m_zoom = 1.0;
    QPointF m_offset;
    bool m_fitMode = true; // refit on resize until the user zooms or pans
    QPointF m_lastDragPos;
    bool m_panning = false;
    bool m_toolDrag = false; // the left button is down over the image: events go to the tool

    HudOverlay *m_hud = nullptr;
    QAction *m_hudAction = nullptr;
    bool m_hoverValid = false; // the cursor is over the image at m_hoverPixel
    QPoint m_hoverPixel;
    double m_frameMs = 0;
};

} // namespace wsss::ui
