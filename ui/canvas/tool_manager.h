#pragma once
// ToolManager: the canvas's tools in one QActionGroup (one is active), and what the edit tools
// share: the label they paint (a class, background or 255 = ignore), the brush diameter and the
// affinity-fill threshold. The owner says where an edit goes (setDocumentProvider): the current
// image's MaskDocument, made on the first edit from the pseudo-mask on screen.
#include "vision/labels/pseudo_label_rule.h"

#include <QObject>
#include <QString>

#include <cstdint>
#include <functional>
#include <memory>
#include <vector>

class QActionGroup;

namespace wsss::training {
struct Inspection;
struct RefinedMaps;
}

namespace wsss::ui {

class AbstractTool;
class CanvasWidget;
class MaskDocument;

class ToolManager : public QObject {
    Q_OBJECT
public:
    explicit ToolManager(CanvasWidget *canvas, QObject *parent = nullptr);

    // The tools in toolbar order: query, brush, eraser, fill, polygon, accept region, affinity fill.
    const std::vector<AbstractTool *> &tools() const { return m_tools; }
    AbstractTool *tool(const QString &key) const; // by AbstractTool::key(), or null
    AbstractTool *current() const { return m_current; }
    void setCurrent(AbstractTool *tool);
    QActionGroup *actions() const { return m_group; }
    CanvasWidget *canvas() const { return m_canvas; }

    std::uint8_t label() const { return m_label; } // what brush, fill and polygon write
    void setLabel(std::uint8_t label);
    int brushDiameter() const { return m_brush; } // image pixels, 1..kMaxBrush
    void setBrushDiameter(int diameter);
    float affinityThreshold() const { return m_affinityThreshold; } // 0..1
    void setAffinityThreshold(float threshold);
    static constexpr int kMaxBrush = 256;

    // How an affinity fill's patch-grid region is snapped to the image's edges before it is applied.
    enum class Snap { None, Par, Crf };
    Snap snap() const { return m_snap; }
    void setSnap(Snap snap);
    // Runs a snap on the engine's worker: the rule's refinement (PAR or the CRF) of the one map of
    // `region` (kind `kind`); the result comes back through regionSnapped().
    using RegionSnapper = std::function<void(std::shared_ptr<const wsss::training::Inspection> region,
                                             const QString &kind, const wsss::vision::PseudoLabelRule &rule)>;
    void setRegionSnapper(RegionSnapper snapper) { m_snapper = std::move(snapper); }
    const RegionSnapper &regionSnapper() const { return m_snapper; }
    void regionSnapped(const std::shared_ptr<const wsss::training::RefinedMaps> &refined);

    // The MaskDocument an edit of the canvas's image goes to (null: editing is not possible now;
    // the provider has said why through editRefused).
    using DocumentProvider = std::function<MaskDocument *()>;
    void setDocumentProvider(DocumentProvider provider) { m_provider = std::move(provider); }
    MaskDocument *documentForEdit() const { return m_provider ? m_provider() : nullptr; }

Q_SIGNALS:
    void currentChanged(wsss::ui::AbstractTool *tool);
    void labelChanged(int label);
    void brushDiameterChanged(int diameter);
    void affinityThresholdChanged(float threshold);
    void editRefused(const QString &why);
    void snapChanged(wsss::ui::ToolManager::Snap snap);

private:
    CanvasWidget *m_canvas;
    QActionGroup *m_group;
    std::vector<AbstractTool *> m_tools;
    AbstractTool *m_current = nullptr;
    std::uint8_t m_label = 1;
    int m_brush = 9;
    float m_affinityThreshold = 0.5f;
    DocumentProvider m_provider;
    Snap m_snap = Snap::None;
    RegionSnapper m_snapper;
};

} // namespace wsss::ui
