#include "ui/canvas/mask_preview.h"

#include "vision/core/labels.h"

#include <array>

namespace wsss::ui {

namespace tr = wsss::training;

namespace {

// Whether a refinement made under `made` serves `wanted` (same PAR, same CRF input).
bool sameRefinement(const vision::PseudoLabelRule &made, const vision::PseudoLabelRule &wanted)
{
    tr::RefinedMaps probe;
    probe.rule = made;
    return probe.serves(wanted);
}

// Ignored pixels (255): white diagonal hatching, every other 3-pixel stripe opaque enough to read
// over any class colour, the rest faint (premultiplied ARGB).
QRgb ignoredColor(int x, int y)
{
    return ((x + y) / 3) % 2 == 0 ? qPremultiply(qRgba(255, 255, 255, 230)) : qPremultiply(qRgba(255, 255, 255, 70));
}

} // namespace

void MaskPreview::setInspection(std::shared_ptr<const tr::Inspection> inspection)
{
    if (inspection != m_inspection)
        m_refined.reset(); // made from the old maps
    m_inspection = std::move(inspection);
}

void MaskPreview::setKind(const std::string &kind)
{
    m_kind = kind;
    if (m_refined && m_refined->kind != this->kind())
        m_refined.reset();
}

std::string MaskPreview::kind() const
{
    if (!m_kind.empty() || !m_inspection || m_inspection->maps.empty())
        return m_kind;
    return m_inspection->maps.front().kind;
}

bool MaskPreview::setRefinement(std::shared_ptr<const tr::RefinedMaps> refined)
{
    if (!refined || !m_inspection || refined->imageId != m_inspection->imageId || refined->kind != kind() ||
        refined->imageWidth != m_inspection->imageWidth || refined->imageHeight != m_inspection->imageHeight)
        return false;
    m_refined = std::move(refined);
    return true;
}

bool MaskPreview::refinementPending(bool shown) const
{
    if (!shown || !m_inspection || !m_rule.refines())
        return false;
    if (m_requestFailed && m_requestedFor.lock() == m_inspection && m_requestedKind == kind() &&
        sameRefinement(m_requestedRule, m_rule))
        return false;
    return !m_refined || !m_refined->serves(m_rule);
}

bool MaskPreview::takeRefinementRequest(bool shown)
{
    if (!refinementPending(shown))
        return false;
    if (m_requestedFor.lock() == m_inspection && m_requestedKind == kind() && sameRefinement(m_requestedRule, m_rule))
        return false; // on its way
    m_requestedFor = m_inspection;
    m_requestedKind = kind();
    m_requestedRule = m_rule;
    m_requestFailed = false;
    return true;
}

void MaskPreview::rebuild()
{
    m_image = QImage();
    m_labels.clear();
    if (!m_inspection || m_inspection->imageWidth <= 0 || m_inspection->imageHeight <= 0)
        return;
    // Runs on every slider step: the decision over the cached maps (refined ones once they are
    // here), then one table lookup per pixel. PAR and the CRF never run here.
    const int w = m_inspection->imageWidth, h = m_inspection->imageHeight;
    const size_t n = static_cast<size_t>(w) * h;
    if (m_inspection->ownBackground(kind())) {
        // The argmax with the method's background; refined by the worker when the rule says so
        // (the last refinement is kept until the next arrives).
        if (m_rule.refines() && m_refined && m_refined->ownBackgroundLabels.size() == n)
            m_labels = m_refined->ownBackgroundLabels;
        else
            m_labels = m_inspection->pseudoMask(kind(), m_rule);
    } else if (m_rule.refines() && m_refined && m_rule.crf && m_refined->crfLabels.size() == n) {
        m_labels = m_refined->crfLabels; // kept until the next CRF arrives, even if the threshold moved
    } else if (m_rule.refines() && m_refined && m_rule.parIterations > 0 && !m_refined->maps.empty()) {
        std::vector<const tr::ClassMap *> maps;
        for (const auto &m : m_refined->maps)
            maps.push_back(&m);
        m_labels = tr::applyMaskRule(m_rule, maps, n);
    } else {
        m_labels = m_inspection->pseudoMask(kind(), m_rule);
    }
    if (m_labels.size() == n)
        m_image = colorize(m_labels.data(), w, h);
}

QImage MaskPreview::colorize(const std::uint8_t *labels, int width, int height)
{
    static const auto palette = [] {
        std::array<QRgb, 256> p{};
        p[0] = qRgba(0, 0, 0, 0); // background stays see-through
        for (int i = 1; i < 256; ++i) {
            const auto c = vision::vocPaletteColor(i);
            p[static_cast<size_t>(i)] = qRgb(c[0], c[1], c[2]);
        }
        return p;
    }();
    // Premultiplied: the format the raster engine blends directly (palette colours are opaque,
    // background fully transparent, so the values are the same).
    QImage image(width, height, QImage::Format_ARGB32_Premultiplied);
    for (int y = 0; y < height; ++y) {
        auto *line = reinterpret_cast<QRgb *>(image.scanLine(y));
        const std::uint8_t *src = labels + static_cast<size_t>(y) * width;
        for (int x = 0; x < width; ++x)
            line[x] = src[x] == vision::kIgnoreLabel ? ignoredColor(x, y) : palette[src[x]];
    }
    return image;
}

} // namespace wsss::ui
