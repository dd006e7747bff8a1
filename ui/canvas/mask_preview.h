#pragma once
// MaskPreview: the pseudo-mask the canvas shows, as plain state (no widget), so it is testable and
// the canvas only draws. It holds the inspection, the map kind and the rule, applies the rule's
// background decision live to the cached maps (refined ones once the engine's worker has sent
// them), and keeps the bookkeeping of which refinement was asked for. A kind that comes with its
// own background map (supervised, AFA's seg and aff, ViT-PCM) is the argmax over it and the maps,
// as `wsss infer` writes it; the rule does not apply to it. Rule of use: after any
// setter, rebuild() makes labels() and image() match.
#include "training/methods/inspection.h"
#include "vision/labels/pseudo_label_rule.h"

#include <QImage>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace wsss::ui {

class MaskPreview {
public:
    // A new inspection drops a refinement made from other maps.
    void setInspection(std::shared_ptr<const wsss::training::Inspection> inspection);
    const std::shared_ptr<const wsss::training::Inspection> &inspection() const { return m_inspection; }
    // "" = the inspection's first map kind. A refinement of another kind is dropped.
    void setKind(const std::string &kind);
    std::string kind() const; // the kind in use
    const std::string &requestedKind() const { return m_kind; }
    void setRule(const wsss::vision::PseudoLabelRule &rule) { m_rule = rule; }
    const wsss::vision::PseudoLabelRule &rule() const { return m_rule; }

    // The worker's refinement; false (and ignored) when it is for another image, kind or size.
    bool setRefinement(std::shared_ptr<const wsss::training::RefinedMaps> refined);
    const std::shared_ptr<const wsss::training::RefinedMaps> &refinement() const { return m_refined; }
    // The rule refines, the mask is shown and the matching refinement has not arrived (nor failed).
    bool refinementPending(bool shown) const;
    // Whether the owner should ask the worker now; records the request so it is asked once.
    bool takeRefinementRequest(bool shown);
    void refinementFailed() { m_requestFailed = true; }

    // The rule's labels over the current maps and their palette image.
    void rebuild();
    const std::vector<std::uint8_t> &labels() const { return m_labels; }
    const QImage &image() const { return m_image; }

    // Labels (class index, 0 background, 255 ignored) as drawn over the image: palette colours,
    // background transparent, 255 hatched white. Premultiplied ARGB, w × h.
    static QImage colorize(const std::uint8_t *labels, int width, int height);

private:
    std::shared_ptr<const wsss::training::Inspection> m_inspection;
    std::string m_kind;
    wsss::vision::PseudoLabelRule m_rule;
    std::shared_ptr<const wsss::training::RefinedMaps> m_refined;
    // The last refinement asked for: of which inspection, kind and rule.
    std::weak_ptr<const wsss::training::Inspection> m_requestedFor;
    std::string m_requestedKind;
    wsss::vision::PseudoLabelRule m_requestedRule;
    bool m_requestFailed = false;
    std::vector<std::uint8_t> m_labels;
    QImage m_image;
};

} // namespace wsss::ui
